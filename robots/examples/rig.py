# The minimal Python rig of docs/rig-protocol.md (kept identical to the document).
# Runs on paho-mqtt 1.6 (Debian 12's python3-paho-mqtt) and 2.x.
# Check it against the reference dispatcher: npx tsx robots/examples/check-python-rig.ts
import json, os, sys, threading, time
from datetime import datetime, timezone
import paho.mqtt.client as mqtt

LAB, RIG, URL_HOST, URL_PORT = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
CAPS, V = ["characterise"], "1.0"
ROOT = f"poreloop/v1/{LAB}/rigs/{RIG}"
# Stable across restarts. A broker that allows only MQTT 3.1.1's 23 characters needs the short form.
CLIENT_ID = os.environ.get("PORELOOP_CLIENT_ID", f"poreloop-rig-{LAB}-{RIG}")
STATE = f"rig-{LAB}-{RIG}.json"                       # finished (jobId#attempt) -> terminal event
done = json.load(open(STATE)) if os.path.exists(STATE) else {}
cancelled, lock = {}, threading.Lock()               # dict as an ordered set: oldest forgotten first

def now(): return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
def status(s): return json.dumps({"rigId": RIG, "status": s, "protocol": V, "protocols": [V],
                                  "capabilities": CAPS, "concurrency": 1, "heartbeatMs": 2000, "at": now()})

def send(ev): c.publish(f"{ROOT}/events", json.dumps(ev), qos=1)

def event(job, seq, typ, **extra):
    return {"jobId": job["jobId"], "rigId": RIG, "attempt": job["attempt"], "seq": seq,
            "type": typ, "at": now(), "protocol": V, **extra}

def finish(key, ev):
    done[key] = ev
    with open(STATE + ".tmp", "w") as f: json.dump(done, f)
    os.replace(STATE + ".tmp", STATE)                 # atomic: survives a crash
    send(ev)

def on_job(job):
    key = f'{job["jobId"]}#{job["attempt"]}'
    if key in done: return send(done[key])            # duplicate: answer, never re-run
    if job["protocol"].split(".")[0] != V.split(".")[0]:
        return finish(key, event(job, 1, "rejected", reason=f'unsupported protocol {job["protocol"]}'))
    if job.get("rigId", RIG) != RIG:
        return finish(key, event(job, 1, "rejected", reason=f'job addressed to rig {job["rigId"]}'))
    if job["capability"] not in CAPS:
        return finish(key, event(job, 1, "rejected", reason=f'capability {job["capability"]} not offered'))
    if job["jobId"] in cancelled:
        return finish(key, event(job, 1, "cancelled", reason="cancelled before it arrived"))
    send(event(job, 1, "accepted"))
    x = [v for v in job["params"].values() if isinstance(v, (int, float))]
    # Report the names the campaign asks for (job["measure"]), spelt exactly so.
    measurements = {name: sum(x) for name in job.get("measure") or ["score"]}   # <- drive the instrument here
    finish(key, event(job, 2, "result", measurements=measurements, feasible=True))

def on_message(client, userdata, msg):
    if len(msg.payload) > 64 * 1024: return
    try: doc = json.loads(msg.payload)
    except ValueError as e:
        return c.publish(f"poreloop/v1/{LAB}/errors/{RIG}", json.dumps(
            {"source": RIG, "topic": msg.topic, "reason": f"not JSON: {e}", "at": now(), "protocol": V}), qos=1)
    with lock:
        if msg.topic.endswith("/jobs"): on_job(doc)
        elif msg.topic.endswith("/errors"): print("orchestrator rejected:", doc.get("reason"), file=sys.stderr)
        elif doc.get("command") == "cancel":
            cancelled[doc.get("jobId")] = True
            while len(cancelled) > 10000: del cancelled[next(iter(cancelled))]

def on_connect(client, userdata, flags, *rest):      # paho 1.x passes rc; 2.x reason_code, properties
    client.subscribe([(f"{ROOT}/jobs", 1), (f"{ROOT}/admin", 1), (f"{ROOT}/errors", 1)])
    client.publish(f"{ROOT}/status", status("online"), qos=1, retain=True)

if hasattr(mqtt, "CallbackAPIVersion"):              # paho-mqtt >= 2.0
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=CLIENT_ID, clean_session=False)
else:                                                # paho-mqtt 1.x
    c = mqtt.Client(client_id=CLIENT_ID, clean_session=False)
c.will_set(f"{ROOT}/status", json.dumps({"rigId": RIG, "status": "offline", "protocol": V}), qos=1, retain=True)
if os.environ.get("PORELOOP_MQTT_USERNAME"):
    c.username_pw_set(os.environ["PORELOOP_MQTT_USERNAME"], os.environ.get("PORELOOP_MQTT_PASSWORD"))
c.on_connect, c.on_message = on_connect, on_message
c.connect(URL_HOST, URL_PORT, keepalive=30)
c.loop_start()
try:
    while True:                                       # heartbeat
        time.sleep(2); c.publish(f"{ROOT}/status", status("online"), qos=1, retain=True)
except KeyboardInterrupt:
    c.publish(f"{ROOT}/status", status("offline"), qos=1, retain=True).wait_for_publish()
    c.disconnect()
