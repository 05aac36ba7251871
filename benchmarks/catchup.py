"""Catch-up under load: how fast a validator that was offline comes back level with the
chain while the network keeps committing plays.

    .venv/bin/python benchmarks/catchup.py [--dir DIR] [--rate 5] [--isolate 30]
                                           [--node node4] [--how restart|pause]
                                           [--timeout 180] [--tendermint recheck=false …]

Posts PLAYs at a steady `--rate` a second, round-robin to every node but `--node`
(`mode=sync`; every play built and signed before the clock starts, as in load.py). After
a warm-up it cuts that node off (nothing touches the host's network): `restart` stops its
processes through the testnet's supervisor and later starts them again, so Tendermint
replays what it missed in fast sync; `pause` freezes its Tendermint process and later lets
it run on, so it catches up through consensus, as a validator behind a broken link does.
It keeps the load going for `--isolate` seconds, reconnects the node and samples every
node's height and mempool size twice a second until it is level with the others (at most
one block behind), or `--timeout`. The figures: how many blocks
behind it came back, how long it took, its catch-up speed in blocks a second against the
chain's growth over the same time (it must exceed 1 to ever catch up), and its mempool
against the others'. Without a testnet in `--dir` it starts its own 4-node network with
the given Tendermint settings and deletes it afterwards; run it under
/tmp/resonate-network.lock. Results go to benchmarks/results/catchup.jsonl.
"""
import argparse
import dataclasses
import json
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

import record
from load import machine, network_for, plays

from bigchaindb_resonate import host
from bigchaindb_resonate.testnet import supervisor

NAME = "catchup"
WARM_UP_SECONDS = 10
SAMPLE_SECONDS = 0.5
# A loaded node may answer its RPC slowly; a sample without an answer is left out.
RPC_TIMEOUT = 3


class PacedLoad(threading.Thread):
    """Posts the transactions at a steady rate, whatever the answers' latency."""

    def __init__(self, transactions, nodes, rate, workers=8):
        super().__init__(daemon=True)
        self.transactions, self.nodes, self.rate = transactions, nodes, rate
        self.accepted = self.refused = self.failed = 0
        self.stopping = threading.Event()
        self._pool = ThreadPoolExecutor(workers)
        self._sessions = [requests.Session() for _ in nodes]

    def _post(self, index, tx):
        which = index % len(self.nodes)
        try:
            response = self._sessions[which].post(
                f"{self.nodes[which].api_url}/api/v1/transactions", params={"mode": "sync"},
                json=tx, timeout=60)
        except requests.RequestException:
            self.failed += 1
            return
        if response.status_code == 202:
            self.accepted += 1
        else:
            self.refused += 1

    def run(self):
        started = time.perf_counter()
        for index, tx in enumerate(self.transactions):
            delay = started + index / self.rate - time.perf_counter()
            if self.stopping.wait(max(0.0, delay)):
                break
            self._pool.submit(self._post, index, tx)
        self._pool.shutdown(wait=True)

    @property
    def exhausted(self):
        return not self.is_alive() and not self.stopping.is_set()


class Restart:
    """Stop every process of the node through the testnet's supervisor, later start them
    again: Tendermint then replays the missed blocks in fast-sync mode."""

    def __init__(self, testnet, name):
        self.testnet, self.name = testnet, name

    def begin(self):
        self.testnet.stop_node(self.name)

    def end(self):
        supervisor.stop_request_path(self.testnet.directory, self.name).unlink(missing_ok=True)


class Pause:
    """Freeze the node's Tendermint process (SIGSTOP), later let it run on (SIGCONT): like
    a validator cut off by the network, it comes back in consensus mode, without fast
    sync, and its peers may have dropped it meanwhile. Nothing outside the testnet's own
    processes is touched."""

    def __init__(self, testnet, name):
        state = supervisor.read_state(testnet.directory)["nodes"][name]["tendermint"]
        self.pid = state["pid"]

    def begin(self):
        os.kill(self.pid, signal.SIGSTOP)

    def end(self):
        os.kill(self.pid, signal.SIGCONT)


ISOLATIONS = {"restart": Restart, "pause": Pause}


def rpc(node, method):
    try:
        return requests.get(f"{node.rpc_url}/{method}", timeout=RPC_TIMEOUT).json()["result"]
    except (requests.RequestException, ValueError, KeyError):
        return None


def sample(nodes):
    """Per node: (height, transactions in its mempool), or None while it does not answer."""
    seen = {}
    for node in nodes:
        status, mempool = rpc(node, "status"), rpc(node, "num_unconfirmed_txs")
        seen[node.name] = ((int(status["sync_info"]["latest_block_height"]),
                            int(mempool["n_txs"]) if mempool else None) if status else None)
    return seen


def measure(testnet, args):
    nodes = testnet.nodes
    isolated = testnet.network.node(args.node)
    others = [node for node in nodes if node.name != args.node]
    total = int(args.rate * (WARM_UP_SECONDS + args.isolate + args.timeout + 30))
    print(f"registering a track and selling credits for {total} plays…", flush=True)
    transactions = plays(total, testnet)
    load = PacedLoad(transactions, others, args.rate)
    samples = []
    started = time.perf_counter()

    def record_sample(phase):
        samples.append({"t": round(time.perf_counter() - started, 2), "phase": phase,
                        "nodes": sample(nodes)})
        return samples[-1]

    def wait(seconds, phase):
        until = time.perf_counter() + seconds
        while time.perf_counter() < until:
            record_sample(phase)
            time.sleep(SAMPLE_SECONDS)

    print(f"posting {args.rate} plays a second to {', '.join(n.name for n in others)}…", flush=True)
    load.start()
    wait(WARM_UP_SECONDS, "warm-up")
    isolation = ISOLATIONS[args.how](testnet, args.node)
    print(f"isolating {args.node} for {args.isolate}s ({args.how})…", flush=True)
    isolation.begin()
    stopped_at = time.perf_counter() - started
    try:
        wait(args.isolate, "isolated")
    finally:
        print(f"reconnecting {args.node}; sampling until it is level…", flush=True)
        isolation.end()
    restarted_at = time.perf_counter() - started
    deadline = time.perf_counter() + args.timeout
    caught_up = None
    last_print = 0
    while time.perf_counter() < deadline:
        now = record_sample("catching up")
        own, top = now["nodes"][args.node], highest_other(now, args.node)
        if top is None:
            continue
        if own and top - own[0] <= 1:
            caught_up = now
            break
        if now["t"] - last_print >= 10:
            last_print = now["t"]
            print(f"  t={now['t']:.0f}s: {args.node} at "
                  f"{own[0] if own else 'not answering'}, others at {top}", flush=True)
        time.sleep(SAMPLE_SECONDS)
    load.stopping.set()
    load.join()
    result = {"machine": machine(), "rate": args.rate, "isolate_seconds": args.isolate,
              "node": args.node, "how": args.how, "stopped_at": round(stopped_at, 2),
              "restarted_at": round(restarted_at, 2),
              "load": {"accepted": load.accepted, "refused": load.refused, "failed": load.failed,
                       "ran_out": load.exhausted},
              **figures(samples, args.node, restarted_at, caught_up), "samples": samples}
    return result


def highest_other(entry, name):
    """The highest height the other nodes reported in a sample, or None if none answered."""
    return max((seen[0] for other, seen in entry["nodes"].items() if seen and other != name),
               default=None)


def figures(samples, name, restarted_at, caught_up):
    """Lag when the node answered again, time to be level, its speed against the chain's."""
    def top(entry):
        return highest_other(entry, name)

    samples = [entry for entry in samples if top(entry) is not None]
    before = [entry for entry in samples if entry["phase"] == "warm-up" and entry["nodes"][name]]
    after = [entry for entry in samples if entry["phase"] == "catching up" and entry["nodes"][name]]
    if not after:
        return {"caught_up": False, "answered": False}
    first, last = after[0], caught_up or after[-1]
    span = last["t"] - first["t"]
    climbed = last["nodes"][name][0] - first["nodes"][name][0]
    grew = top(last) - top(first)
    chain_rate = ((top(samples[-1]) - top(samples[0])) / (samples[-1]["t"] - samples[0]["t"])
                  if samples[-1]["t"] > samples[0]["t"] else None)

    def mempool(entries, who):
        sizes = [seen[1] for entry in entries for other, seen in entry["nodes"].items()
                 if seen and seen[1] is not None and (other == name) == (who == "node")]
        return max(sizes, default=None)

    return {
        "caught_up": caught_up is not None,
        "behind_when_answering": top(first) - first["nodes"][name][0],
        "seconds_to_answer": round(first["t"] - restarted_at, 1),
        "seconds_to_level": round(last["t"] - restarted_at, 1) if caught_up else None,
        "catch_up_blocks_per_second": round(climbed / span, 3) if span else None,
        "chain_blocks_per_second_meanwhile": round(grew / span, 3) if span else None,
        "catch_up_vs_chain": round(climbed / grew, 2) if grew else None,
        "chain_blocks_per_second_whole_run": round(chain_rate, 3) if chain_rate else None,
        "largest_mempool_catching_up": {"node": mempool(after, "node"), "others": mempool(after, "others")},
        "largest_mempool_before": {"node": mempool(before, "node"), "others": mempool(before, "others")},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=None, help="a running testnet's directory")
    parser.add_argument("--rate", type=float, default=5, help="plays posted a second")
    parser.add_argument("--isolate", type=float, default=30, help="seconds the node is stopped")
    parser.add_argument("--node", default="node4", help="the node to isolate")
    parser.add_argument("--how", choices=sorted(ISOLATIONS), default="restart",
                        help="restart: stop its processes and start them again (fast sync); "
                             "pause: freeze its Tendermint and let it run on (consensus catch-up)")
    parser.add_argument("--timeout", type=float, default=180,
                        help="seconds to wait for it to be level again")
    parser.add_argument("--tendermint", nargs="*", default=[], metavar="NAME=VALUE",
                        help="Tendermint settings of the network the benchmark starts")
    args = parser.parse_args(argv)
    host.apply()
    with network_for(args.dir, args.tendermint) as (testnet, settings):
        if args.node not in testnet.network.names:
            sys.exit(f"error: no node {args.node!r}; the nodes are {', '.join(testnet.network.names)}")
        result = measure(testnet, args)
        result["tendermint"] = dataclasses.asdict(settings)
    stamped = record.append(NAME, result, argv)
    print(json.dumps({key: value for key, value in stamped.items()
                      if key not in ("samples", "machine")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
