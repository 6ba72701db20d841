import { serveTasks } from '../exec/worker-host.js';
import { trainTask } from './train-task.js';

/**
 * The `train` task on a worker thread (issue #21): a compute worker's MQTT loop keeps
 * heartbeating while a fit runs. The thread keeps its TensorFlow.js backend between fits.
 */
serveTasks({ train: trainTask });
