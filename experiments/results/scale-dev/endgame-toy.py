"""
Toy model of the scale bench's end game (issue #21; dev evidence for src/orchestrator/endgame.ts).

Not the benchmark: a few lines of discrete-event simulation of the bench's fleet alone (20 rigs,
rig means log-normal around 30 lab minutes with sigma_ln 0.3, runs log-normal with CV 0.3), an
asynchronous loop (a freed rig slot gets the next run at once, optionally after a warm-up of W
ended runs) and no agent, to see on many seeds whether end-game dispatch shortens the campaign
and how the hold margin z matters. It implements the rule of endgame.ts: once no more runs are
left than rigs, plan the runs left by earliest completion time on expected durations (each
rig's completed runs shrunk toward the fleet mean by one pseudo-run, or the true means:
"oracle"), send the run to the planned run that starts first, and hold it for a busy rig only
when it ends sooner there than on the fastest free rig by more than z standard errors (pooled
within-rig sd / sqrt(runs + 1)); no plan before some rig has two runs.

Two ways to hold a run: "bound" (what endgame.ts does: the held run is queued for the planned
rig, which takes it whenever it frees) and "dynamic" (not implemented in poreloop: held runs
stay unassigned and the plan is made again at every rig-free event, so a held run goes to
whichever rig the plan then says).

Run: python3 endgame-toy.py  (numpy; seeds 1000-1199, development only). Output: endgame-toy.txt.
"""
import heapq

import numpy as np

R, MEAN, SPREAD, CV = 20, 30.0, 0.3, 0.3


def campaign(seed, budget, endgame, z=2.0, oracle=False, warmup=0, dynamic=False):
    rng = np.random.default_rng(seed)
    means = MEAN * np.exp(SPREAD * rng.normal(size=R) - SPREAD**2 / 2)
    sl = np.sqrt(np.log(1 + CV * CV))
    hist = [[] for _ in range(R)]
    busy, queued, events, free = {}, [0] * R, [], set()
    sent = ended = 0
    busy_time = last = 0.0

    def start(r, t):
        nonlocal sent, busy_time
        d = means[r] * np.exp(sl * rng.normal() - sl * sl / 2)
        busy[r] = (t, t + d)
        heapq.heappush(events, (t + d, r))
        busy_time += d

    for r in range(R):
        start(r, 0.0)
    sent = R
    waiting = 0  # slots freed during the warm-up, refilled once it is over
    pending = 0  # dynamic: runs created and held, not assigned to a rig
    while events:
        t, r = heapq.heappop(events)
        s, e = busy.pop(r)
        hist[r].append(e - s)
        last = max(last, e)
        ended += 1
        if queued[r] > 0:
            queued[r] -= 1
            start(r, t)
        else:
            free.add(r)
        waiting += 1
        if ended < warmup:
            continue
        if dynamic:
            while waiting > 0 and sent < budget:
                waiting -= 1
                sent += 1
                pending += 1
            while pending > 0 and free:
                runs_left = budget - sent + pending
                target = plan(t, runs_left, hist, busy, queued, free, means, z, oracle) if endgame and runs_left <= R else None
                if target is None:
                    target = r if r in free else min(free)
                if target not in free:
                    break
                free.discard(target)
                start(target, t)
                pending -= 1
            continue
        while waiting > 0 and sent < budget:
            waiting -= 1
            sent += 1
            runs_left = budget - sent + 1
            target = plan(t, runs_left, hist, busy, queued, free, means, z, oracle) if endgame and runs_left <= R else None
            if target is None:
                target = r if r in free else min(free)
            if target in free:
                free.discard(target)
                start(target, t)
            else:
                queued[target] += 1
        waiting = 0 if sent >= budget else waiting
    return busy_time / (R * last), last


def plan(t, runs, hist, busy, queued, free, means, z, oracle):
    pool = [h for h in hist if len(h) >= 2]
    if not pool:
        return None
    allh = [x for h in hist for x in h]
    fm = float(np.mean(allh))
    mu = list(means) if oracle else [(sum(h) + fm) / (len(h) + 1) for h in hist]
    sw = np.sqrt(sum(((np.array(h) - np.mean(h)) ** 2).sum() for h in pool) / sum(len(h) - 1 for h in pool))
    sd = [0.0] * R if oracle else [sw / np.sqrt(len(h) + 1) for h in hist]
    at = [(max(t, busy[i][0] + mu[i]) if i in busy else t) + queued[i] * mu[i] for i in range(R)]
    first = None
    for _ in range(runs):
        b = min(range(R), key=lambda i: (at[i] + mu[i], at[i], i))
        if first is None or at[b] < first[1]:
            first = (b, at[b])
        at[b] += mu[b]
    rig, starts = first
    if starts <= t or not free:
        return rig
    fr = min(free, key=lambda i: mu[i])
    gain = (t + mu[fr]) - (starts + mu[rig])
    return rig if gain > z * np.hypot(sd[rig], sd[fr]) else fr


if __name__ == "__main__":
    seeds = range(1000, 1200)
    lines = []
    for budget, warmup in ((60, 0), (200, 0), (200, 10)):
        off = np.array([campaign(s, budget, False, warmup=warmup) for s in seeds])
        lines.append(f"budget {budget}, warm-up {warmup}: end game off: utilisation {100 * np.median(off[:, 0]):.2f} %, makespan {np.median(off[:, 1]):.1f} lab min")
        for label, kw in (
            ("bound, true means, z 0", dict(oracle=True, z=0.0)),
            ("bound, estimated, z 0", dict(z=0.0)),
            ("bound, estimated, z 1", dict(z=1.0)),
            ("bound, estimated, z 2 (endgame.ts)", dict(z=2.0)),
            ("dynamic, true means, z 0", dict(oracle=True, z=0.0, dynamic=True)),
            ("dynamic, estimated, z 2", dict(z=2.0, dynamic=True)),
        ):
            on = np.array([campaign(s, budget, True, warmup=warmup, **kw) for s in seeds])
            lines.append(
                f"  end game, {label}: utilisation {100 * np.median(on[:, 0]):.2f} %, makespan {np.median(on[:, 1]):.1f} lab min"
                f" (median of per-seed makespan ratio on/off {np.median(on[:, 1] / off[:, 1]):.4f})"
            )
    print("\n".join(lines))
