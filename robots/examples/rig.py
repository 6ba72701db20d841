# The minimal Python rig of docs/rig-protocol.md (kept identical to the document).
# Check it against the reference dispatcher: npx tsx robots/examples/check-python-rig.ts
import json, os, sys, threading, time
from datetime import datetime, timezone
import paho.mqtt.client as mqtt

LAB, RIG, URL_HOST, URL_PORT = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
CAPS, V = ["characterise"], "1.0"
ROOT = f"poreloop/v1/{LAB}/rigs/{RIG}"
STATE = f"rig-{LAB}-{RIG}.json"                       # finished (jobId#attempt) -> terminal event
done = json.load(open(STATE)) if os.path.exists(STATE) else {}
cancelled, lock = set(), threading.Lock()

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
    if job["capability"] not in CAPS:
        return finish(key, event(job, 1, "rejected", reason=f'capability {job["capability"]} not offered'))
    if job["jobId"] in cancelled:
        return finish(key, event(job, 1, "cancelled", reason="cancelled before it arrived"))
    send(event(job, 1, "accepted"))
    x = [v for v in job["params"].values() if isinstance(v, (int, float))]
    measurements = {"score": sum(x)}                  # ← drive the instrument here
    finish(key, event(job, 2, "result", measurements=measurements, feasible=True))

def on_message(client, userdata, msg):
    if len(msg.payload) > 64 * 1024: return
    try: doc = json.loads(msg.payload)
    except ValueError as e:
        return c.publish(f"poreloop/v1/{LAB}/errors/{RIG}", json.dumps(
            {"source": RIG, "topic": msg.topic, "reason": f"not JSON: {e}", "at": now(), "protocol": V}), qos=1)
    with lock:
        if msg.topic.endswith("/jobs"): on_job(doc)
        elif doc.get("command") == "cancel": cancelled.add(doc.get("jobId"))

def on_connect(client, userdata, flags, reason_code, properties):
    client.subscribe([(f"{ROOT}/jobs", 1), (f"{ROOT}/admin", 1)])
    client.publish(f"{ROOT}/status", status("online"), qos=1, retain=True)

c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"poreloop-rig-{LAB}-{RIG}", clean_session=False)
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
