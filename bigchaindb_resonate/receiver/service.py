"""The receiver: accepts play vouchers before a track starts and settles them on the ledger.

A player POSTs a voucher; the receiver checks it (checks.py) against what the ledger said
(cached reads through several nodes, ledger.py) and what it already holds, stores it
durably (store.py) and only then answers accepted; or it answers refused with a stable code
(refusals.py). The protocol, codes and settings are in docs/receiver.md.

How it stays fast and safe at once:
- Checks run on one event loop, in order, with nothing awaited between checking a
  voucher and reserving its sequence and play number, so two vouchers of one channel can
  never both take the same place.
- Vouchers accepted while the previous batch is being synced are written together in the
  next commit (group commit): one sync for many listeners, and no answer before the sync.
- Ledger facts are cached: a stale entry is used while a fresh one is fetched in the
  background, so a ledger briefly unreachable changes nothing for channels, tracks and
  licences already seen: vouchers are accepted within the deposit and settled later.
- Settlement runs every `settle_every` seconds or after `settle_after` vouchers, and at
  once for a channel seen closing. The period is at most half the network's settle delay,
  so a voucher accepted before a channel starts closing settles before its delay ends.
- Channels settle many to a CHANNEL_SETTLE_BATCH once the network's rules version in force
  is 3 (batched settlements, docs/spec/rule_versions.md), read at each round; before, one
  CHANNEL_SETTLE per channel, which every version accepts.
"""
import asyncio
import dataclasses
import datetime
import logging
import time

import rapidjson
from concurrent.futures import ThreadPoolExecutor

from bigchaindb_resonate.receiver import checks, refusals
from bigchaindb_resonate.operations import channel_settle, channel_settle_batch
from bigchaindb_resonate.receiver.ledger import LedgerDown, TooLarge, channel_from
from bigchaindb_resonate.receiver.store import COMMITTED, REFUSED
from bigchaindb_resonate.rule_versions import BATCHED_SETTLEMENTS
from bigchaindb_resonate.vouchers import merkle_root

log = logging.getLogger("resonate.receiver")

# Seconds a cached ledger fact is used before it is read again (in the background).
FRESH = {"channel": 5.0, "track": 30.0, "licence": 60.0}
# The most vouchers of one channel a batch settles at once; a channel with more is settled
# again in a round that follows at once (so is one over a CHANNEL_SETTLE's limit).
MAX_SETTLED = 1000
# What the receiver packs into one CHANNEL_SETTLE_BATCH, by estimate, below its limit.
BATCH_BYTES = 480_000
# Threads that settle and that read the ledger. They share the receiver's core with the
# event loop that answers players: more of them starve it (benchmarks/RESULTS.md).
SETTLEMENT_THREADS = 16
READ_THREADS = 8
# Channels with unsettled vouchers are read again, once their last read is WATCH_AGE
# seconds old and at most WATCHED_PER_SECOND a second, to see a close early (the settlement
# period, at most half the delay, bounds the rest).
WATCHED_PER_SECOND = 20
WATCH_AGE = 30.0
MAX_BATCH = 1000  # vouchers in one request
RETRY_SETTLEMENT = 5.0  # seconds before a round that could not read the ledger runs again


class Receiver:
    def __init__(self, store, ledger, keypair, settle_every=30.0, settle_after=1000):
        self.store = store
        self.ledger = ledger
        self.keypair = keypair
        self.settle_every = settle_every
        self.settle_after = settle_after
        self.parameters = None
        self.network = None  # parameters and credit token, as a node answered them last
        self.splits = {}  # track -> [its split in force, when read], for settlements
        self.signatures = checks.SignatureChecker()
        self.held = {}  # channel id -> checks.Held: the latest voucher accepted
        self.lanes = {}  # (listener, track) -> the next play number, from held vouchers
        self.lanes_read = set()  # lanes whose ledger count this process has read
        self.cache = {}  # (kind, key) -> [value, when read]
        self.loading = {}  # (kind, key) -> the future of a read under way
        self.batch = []  # (voucher, body text) waiting for the next commit
        self.fact_updates = {}  # (kind, key) -> document: ledger facts for the next commit
        self.committing = None  # the next Commit, answered once synced
        self.arriving = []  # (voucher, body text, future of its answer) to check next
        self.reading = set()  # vouchers' checks waiting for ledger reads (tasks)
        self.unsettled = 0
        self.settling = set()  # channels a settlement is being built or sent for
        self.urgent = set()  # channels seen closing with vouchers unsettled
        self.stats = {"accepted": 0, "refused": 0, "settlements": 0, "settlement_refusals": 0,
                      "last_settlement": None, "ledger": "unknown"}
        self.failed = None  # the store error that stopped the receiver
        self.writing = False  # a commit is under way
        self.in_flight = []  # the batch it is writing
        self.wake = asyncio.Event()  # settle now
        self.stopped = asyncio.Event()
        self.reads = ThreadPoolExecutor(READ_THREADS, thread_name_prefix="ledger-read")
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="store-writer")
        self.settlers = ThreadPoolExecutor(SETTLEMENT_THREADS, thread_name_prefix="settle")
        self._load()

    def _load(self):
        """The state a restarted receiver resumes from: what its store holds."""
        for channel_id, voucher in self.store.latest().items():
            self.held[channel_id] = checks.Held(voucher["sequence"], voucher["total"],
                                                voucher["signature"])
        self.lanes = {lane: play + 1 for lane, play in self.store.lanes().items()}
        for kind, key, document in self.store.facts():  # stale: used until read again
            self.cache[(kind, key)] = [_fact(kind, document), float("-inf")]
        self.parameters = self.store.get_meta("parameters")

    # -- starting

    def start_settling(self):
        """Read the network parameters (or use the stored ones when no node answers) and
        bound the settlement period by the settle delay."""
        try:
            self.network = self.ledger.network()
            self.parameters = self.network["parameters"]
            self.store.set_meta("parameters", self.parameters)
        except LedgerDown:
            if self.parameters is None:
                raise
        if self.parameters is None:
            raise LedgerDown("the network has no parameters in its genesis")
        delay = self.parameters.get("channel_settle_delay_s", 86_400)
        if self.settle_every > delay / 2:
            log.warning("settling every %ss instead of %ss: half the network's settle delay "
                        "(%ss), so that every voucher settles before a closing channel's "
                        "delay ends", delay / 2, self.settle_every, delay)
            self.settle_every = delay / 2
        return self.parameters

    @property
    def key(self):
        return self.keypair.public_key

    def receives_for_network(self):
        """True when the network lets this key receive channels."""
        return self.key == self.parameters["platform_key"] or \
            self.key in self.parameters.get("receiver_keys", [])

    # -- accepting a voucher

    async def accept(self, body):
        """The answer for one voucher in `body` (bytes), once it is stored; VoucherRefused."""
        if self.failed:
            raise refusals.StoreFailed(str(self.failed))
        voucher = checks.parse(body)
        answer = asyncio.get_running_loop().create_future()
        if not self.arriving:
            asyncio.get_running_loop().call_soon(self._check_arrivals)
        self.arriving.append((voucher, body.decode(), answer))
        return await answer

    def _check_arrivals(self):
        """Check the vouchers that arrived since the loop's last turn: their signatures one
        after another (the verification's code and tables stay in the CPU's caches), then
        each against what is held, in the order they came. Each request's answer is set
        when its voucher's commit is synced, or at once with its refusal."""
        arrivals, self.arriving = self.arriving, []
        signed = []
        for voucher, text, answer in arrivals:
            if answer.cancelled():
                continue  # the player went away before its voucher was checked
            try:
                self.signatures.check(voucher)
            except refusals.VoucherRefused as refusal:
                answer.set_exception(refusal)
                continue
            signed.append((voucher, text, answer))
        for voucher, text, answer in signed:
            try:
                reads = self._reads_missing(voucher)
                if reads:  # a channel's first voucher: it waits, the others go on
                    self._check_after_reads(voucher, text, reads, answer)
                    continue
                commit, duplicate = self._admit(voucher, text)
            except Exception as exc:  # a refusal (or a bug, answered as one by handle)
                answer.set_exception(exc)
                continue
            commit.answer(answer, self._acknowledged(voucher, duplicate))

    def _check_after_reads(self, voucher, text, reads, answer):
        async def check():
            try:
                await self._learn(reads)
                if answer.cancelled():
                    return  # the player went away while the ledger was read
                commit, duplicate = self._admit(voucher, text)
            except Exception as exc:
                if not answer.done():
                    answer.set_exception(exc)
                return
            commit.answer(answer, self._acknowledged(voucher, duplicate))

        task = asyncio.ensure_future(check())
        self.reading.add(task)
        task.add_done_callback(self.reading.discard)

    async def accept_many(self, vouchers):
        """Answers for a list of vouchers (dicts) sent together, in order: each accepted
        once all are stored, or refused with its code. One commit stores them all."""
        if self.failed:
            raise refusals.StoreFailed(str(self.failed))
        answers, admitted, waits = [None] * len(vouchers), [], set()
        checked = []
        for index, voucher in enumerate(vouchers):
            try:
                checked.append((index, checks.check_fields(
                    dict(voucher) if isinstance(voucher, dict) else voucher)))
            except refusals.VoucherRefused as refusal:
                self.stats["refused"] += 1
                answers[index] = refusal.to_dict()
        # The signatures one after another: the verification's code and tables stay in
        # the CPU's caches (a voucher's own checks come in the same order as one at a time).
        signed = []
        for index, voucher in checked:
            try:
                self.signatures.check(voucher)
                signed.append((index, voucher))
            except refusals.VoucherRefused as refusal:
                self.stats["refused"] += 1
                answers[index] = refusal.to_dict()
        for index, voucher in signed:
            try:
                reads = self._reads_missing(voucher)
                if reads:
                    await self._learn(reads)
                commit, duplicate = self._admit(voucher, None)
                waits.add(commit)
                admitted.append((index, voucher, duplicate))
            except refusals.VoucherRefused as refusal:
                self.stats["refused"] += 1
                answers[index] = refusal.to_dict()
        for commit in waits:
            await commit.wait()
        for index, voucher, duplicate in admitted:
            answers[index] = self._acknowledged(voucher, duplicate)
        return answers

    def _reads_missing(self, voucher):
        """The reads of what the checks need that the cache does not hold yet (mostly
        none: then the voucher is checked without awaiting anything)."""
        cache, reads = self.cache, []
        if ("channel", voucher["channel"]) in cache and ("track", voucher["track"]) in cache \
                and ("licence", voucher["right"]) in cache \
                and (voucher["listener"], voucher["track"]) in self.lanes_read:
            return reads
        for kind, key, fetch in (("channel", voucher["channel"], self.ledger.channel),
                                 ("track", voucher["track"], self.ledger.track),
                                 ("licence", voucher["right"], self.ledger.licence)):
            if (kind, key) not in cache:
                reads.append(self._load_fact(kind, key, fetch))
        if (voucher["listener"], voucher["track"]) not in self.lanes_read:
            reads.append(self._read_lane((voucher["listener"], voucher["track"])))
        return reads

    @staticmethod
    async def _learn(reads):
        """Run the reads at the same time; the first failure is raised."""
        for outcome in await asyncio.gather(*reads, return_exceptions=True):
            if isinstance(outcome, BaseException):
                raise outcome

    def _admit(self, voucher, text):
        """Check the voucher against the cache and what is held, and reserve its place:
        (the commit that stores it, whether it was held already). Nothing
        here awaits, so the checks see every voucher admitted before this one."""
        now = time.monotonic()
        channel = self._known("channel", voucher["channel"], now)
        checks.check_channel(voucher, channel, self.key)
        held = self._held(channel)
        if voucher["sequence"] <= held.sequence:
            return self._duplicate(voucher, channel, held), True
        lane = (voucher["listener"], voucher["track"])
        checks.check_continues(voucher, channel, held, self.lanes.get(lane, 0))
        checks.check_licence(voucher, self._known("track", voucher["track"], now),
                             self._known("licence", voucher["right"], now),
                             self.parameters["platform_key"], _today())
        if not self.batch:
            self.committing = Commit()
            asyncio.get_running_loop().call_soon(self._flush)
        self.batch.append((voucher, text if text is not None else rapidjson.dumps(voucher)))
        self.held[channel.id] = checks.Held(voucher["sequence"], voucher["total"],
                                            voucher["signature"], self.committing)
        self.lanes[lane] = voucher["play"] + 1
        return self.committing, False

    def _duplicate(self, voucher, channel, held):
        """For a voucher already accepted (a player retrying after a lost answer), the
        commit that stored it; any other voucher there is stale."""
        if not checks.is_duplicate(voucher, held) and \
                self._held_voucher(channel.id, voucher["sequence"]) != voucher:
            raise refusals.Stale(f"sequence {voucher['sequence']}", field="sequence",
                                 expected=str(held.sequence + 1))
        # Batches commit in order: once the latest held voucher is stored, this one is.
        return held.committed if held.committed is not None else STORED

    def _held_voucher(self, channel_id, sequence):
        """A voucher held, stored or still on its way to the disk."""
        for voucher, _ in self.batch + self.in_flight:
            if voucher["channel"] == channel_id and voucher["sequence"] == sequence:
                return voucher
        return self.store.voucher(channel_id, sequence)

    @staticmethod
    def _acknowledged(voucher, duplicate):
        answer = {"status": "accepted", "channel": voucher["channel"],
                  "sequence": voucher["sequence"], "play": voucher["play"],
                  "total": voucher["total"]}
        if duplicate:
            answer["duplicate"] = True
        return answer

    def _held(self, channel):
        """The latest voucher held for the channel, or what the ledger settled if later."""
        held = self.held.get(channel.id)
        if held is None or held.sequence < channel.settled_sequence:
            return checks.Held(channel.settled_sequence, channel.settled_total)
        return held

    async def _read_lane(self, lane):
        """Merge the ledger's count of the listener's plays of the track into the lane."""
        try:
            count = await self._read(self.ledger.plays, *lane)
        except refusals.LedgerUnreachable:
            if lane in self.lanes:
                return  # counted from the vouchers held; read the ledger next time
            raise
        if count is None:
            raise refusals.UnknownTrack(field="track", expected="a MANIFESTATION id")
        self.lanes[lane] = max(self.lanes.get(lane, 0), count)
        self.lanes_read.add(lane)

    # -- group commit

    def _flush(self):
        """Write the waiting vouchers (and the ledger facts read since) in one synced
        commit, unless a commit is under way (then they go in the next one)."""
        if self.writing or not (self.batch or self.fact_updates):
            return
        batch, committed, self.batch = self.batch, self.committing, []
        facts, self.fact_updates = [(*key, document) for key, document in self.fact_updates.items()], {}
        self.writing, self.in_flight = True, batch
        done = asyncio.get_running_loop().run_in_executor(self.writer, self.store.append, batch, facts)
        done.add_done_callback(lambda outcome: self._written(batch, committed if batch else None,
                                                             outcome))

    def _written(self, batch, committed, outcome):
        """Answer every voucher of a batch at once: stored, or the store failed."""
        self.writing, self.in_flight = False, []
        error = outcome.exception()
        if committed is None:
            pass  # only facts were written
        elif error is None:
            committed.finish()
            self.stats["accepted"] += len(batch)
            self.unsettled += len(batch)
            if self.unsettled >= self.settle_after:
                self._wake_settlement()
        else:
            committed.finish(f"{type(error).__name__}: {error}")
        if error is not None:
            # What is held in memory is now ahead of the disk: stop, and let a restart
            # resume from what was stored. Nothing unstored was acknowledged.
            log.error("cannot store vouchers (%s); the receiver stops", error)
            self.failed = error
            self.stopped.set()
            return
        self._flush()

    # -- ledger reads, cached

    async def _read(self, function, *args):
        try:
            answer = await asyncio.get_running_loop().run_in_executor(self.reads, function, *args)
        except LedgerDown as exc:
            self.stats["ledger"] = "unreachable"
            raise refusals.LedgerUnreachable(str(exc)) from None
        self.stats["ledger"] = "reachable"
        return answer

    def _known(self, kind, key, now=None):
        """The cached fact, or None when none is cached; a stale one is answered while a
        fresh one is read in the background."""
        entry = self.cache.get((kind, key))
        if entry is None:
            return None
        if (now or time.monotonic()) - entry[1] > FRESH[kind] and (kind, key) not in self.loading:
            fetch = {"channel": self.ledger.channel, "track": self.ledger.track,
                     "licence": self.ledger.licence}[kind]
            asyncio.ensure_future(self._quietly(self._load_fact(kind, key, fetch)))
        return entry[0]

    async def _load_fact(self, kind, key, fetch):
        loading = self.loading.get((kind, key))
        if loading is None:
            loading = asyncio.ensure_future(self._read(fetch, key))
            self.loading[(kind, key)] = loading
            loading.add_done_callback(lambda _: self.loading.pop((kind, key), None))
        value = await asyncio.shield(loading)
        if value is not None:  # what is not there yet may be there at the next read
            self._remember(kind, key, value)
        return value

    def _remember(self, kind, key, value):
        entry = self.cache.get((kind, key))
        self.cache[(kind, key)] = [value, time.monotonic()]
        if entry is None or entry[0] != value:  # kept for a restart while the ledger is down
            if not self.fact_updates and not self.batch:
                asyncio.get_running_loop().call_soon(self._flush)
            self.fact_updates[(kind, key)] = _document(kind, value)
            if kind == "channel" and value.status != "open" and self._unsettled(value):
                self.urgent.add(value.id)  # settle before its delay ends
                self._wake_settlement()

    async def _quietly(self, refresh):
        try:
            await refresh
        except refusals.LedgerUnreachable:
            pass  # the cached value stays in use

    async def _channel(self, channel_id):
        return self._known("channel", channel_id) or \
            await self._load_fact("channel", channel_id, self.ledger.channel)

    # -- settlement

    def _unsettled(self, channel):
        held = self.held.get(channel.id)
        return held is not None and held.sequence > channel.settled_sequence

    def _wake_settlement(self):
        self.wake.set()

    async def settle_forever(self):
        while True:
            try:
                await asyncio.wait_for(self.wake.wait(), self.settle_every)
            except asyncio.TimeoutError:
                pass
            self.wake.clear()
            await self.settle_due()

    async def watch_closing(self):
        """Read again the channels holding unsettled vouchers, the longest unread first:
        one seen closing is settled at once (`_remember`)."""
        while True:
            await asyncio.sleep(1)
            due = time.monotonic() - WATCH_AGE
            unsettled = [(self.cache[("channel", channel_id)][1], channel_id)
                         for channel_id, held in list(self.held.items())
                         if ("channel", channel_id) in self.cache
                         and self.cache[("channel", channel_id)][1] < due
                         and self._maybe_unsettled(channel_id, held)]
            for _, channel_id in sorted(unsettled)[:WATCHED_PER_SECOND]:
                await self._quietly(self._load_fact("channel", channel_id, self.ledger.channel))

    async def settle_due(self, only=None):
        """Settle every channel with vouchers the ledger has not settled (or only the
        channel `only`), many channels to a CHANNEL_SETTLE_BATCH (one channel to a
        CHANNEL_SETTLE under rules before batches), the transactions at once; the number of
        channels settled."""
        self.unsettled = 0
        self.urgent.clear()
        due = [(channel_id, held.sequence) for channel_id, held in self.held.items()
               if (only is None or channel_id == only) and channel_id not in self.settling
               and self._maybe_unsettled(channel_id, held)]
        if not due:
            return 0
        self.settling.update(channel_id for channel_id, _ in due)
        loop = asyncio.get_running_loop()
        try:
            network, batches, seen = await loop.run_in_executor(self.settlers, self._plan_batches, due)
            results = [seen] + await asyncio.gather(*(
                loop.run_in_executor(self.settlers, self._settle_batch, batch, network)
                for batch in batches), return_exceptions=True)
        except LedgerDown as exc:
            self.stats["ledger"] = "unreachable"
            log.warning("cannot read the channels to settle (again in %ss): %s", RETRY_SETTLEMENT, exc)
            asyncio.get_running_loop().call_later(RETRY_SETTLEMENT, self._wake_settlement)
            return 0
        finally:
            self.settling.difference_update(channel_id for channel_id, _ in due)
        settled, through, more = 0, dict(due), False
        for result in results:
            if isinstance(result, BaseException):
                if isinstance(result, LedgerDown):
                    self.stats["ledger"] = "unreachable"
                log.warning("settling a batch: %s", result)
                continue
            self.stats["ledger"] = "reachable"
            for channel in result:
                self._remember("channel", channel.id, channel)
                settled += 1
                more = more or channel.settled_sequence < through[channel.id]
        log.info("%d of %d channels with unsettled vouchers settled (%d seen settled already), "
                 "%d transactions", settled, len(due), len(seen), len(batches))
        if more:  # a channel had more vouchers than one transaction settles
            self._wake_settlement()
        return settled

    def _maybe_unsettled(self, channel_id, held):
        entry = self.cache.get(("channel", channel_id))
        return entry is None or held.sequence > entry[0].settled_sequence

    def _plan_batches(self, due):
        """(In a settlement thread.) The network as a node answers it now, [(channel read,
        its vouchers to settle)] per batch: each due channel read from the ledger at once,
        its vouchers after what the ledger settled up to `through` (at most MAX_SETTLED),
        packed into batches that fit, a channel to a batch under rules before batches (at
        most a CHANNEL_SETTLE's vouchers); and the channels the ledger shows settled through
        `through` already (a settlement whose answer did not say it committed)."""
        network = self.network = self.ledger.network()
        batched = batches_in_force(network)
        limit = MAX_SETTLED if batched else channel_settle.MAX_VOUCHERS
        states = self.ledger.channel_states([channel_id for channel_id, _ in due])
        batches, batch, size, seen = [], [], channel_settle_batch.FIXED_BYTES, []
        for (channel_id, through), state in zip(due, states):
            if state is not None and state["sequence"] >= through:
                seen.append(channel_from(state))
            if state is None or state["sequence"] >= through:
                continue
            vouchers = self.store.vouchers(channel_id, after=state["sequence"],
                                           limit=min(limit, through - state["sequence"]))
            if not vouchers or vouchers[0]["sequence"] != state["sequence"] + 1:
                log.error("channel %s: the ledger settled through %s, the store holds no "
                          "voucher %s", channel_id, state["sequence"], state["sequence"] + 1)
                continue
            cost = channel_settle_batch.estimated_bytes(1, len(vouchers)) - channel_settle_batch.FIXED_BYTES
            if batch and (not batched or size + cost > BATCH_BYTES
                          or len(batch) == channel_settle_batch.MAX_CHANNELS):
                batches.append(batch)
                batch, size = [], channel_settle_batch.FIXED_BYTES
            batch.append((state, vouchers))
            size += cost
        return network, batches + ([batch] if batch else []), seen

    def _settle_batch(self, batch, network):
        """(In a settlement thread.) Send one batch (under rules before batches, its one
        channel as a CHANNEL_SETTLE); the states of the channels it settled. One too large,
        or refused, is sent again as two halves (each channel read again), so one channel's
        refusal settles the others; a channel refused alone is recorded."""
        from bigchaindb_resonate.client import TransactionRefused

        paid = sorted({voucher["track"] for _, vouchers in batch for voucher in vouchers if voucher["price"]})
        try:
            splits = {track: self._split(track) for track in paid}
            if batches_in_force(network):
                tx, committed = self.ledger.settle_batch(self.keypair, batch, splits, network)
            else:
                (state, vouchers), = batch
                tx, committed = self.ledger.settle(self.keypair, state, vouchers, splits, network)
        except TooLarge:
            if len(batch) == 1:
                raise
            return self._settle_halves(batch, [state for state, _ in batch], network)
        except TransactionRefused as refusal:
            for track in paid:  # a split may have changed: read them again next time
                self.splits.pop(track, None)
            # Sent once more after an answer was lost, it is refused for having committed
            # already: the channels read again show it. Else one channel spoils the batch.
            after = self.ledger.channel_states([state["channel"] for state, _ in batch])
            done = [channel_from(state) for state, (_, vouchers) in zip(after, batch)
                    if state is not None and state["sequence"] >= vouchers[-1]["sequence"]]
            if len(done) == len(batch):
                return done
            if len(batch) > 1:
                return done + self._settle_halves(batch, after, network)
            state, vouchers = batch[0]
            self.stats["settlement_refusals"] += 1
            attempt = {"id": f"refused:{state['channel']}:{vouchers[0]['sequence']}-"
                             f"{vouchers[-1]['sequence']}"}
            self.store.record_settlements([_settlement(state["channel"], vouchers, attempt)],
                                          REFUSED, f"{refusal.code}: {refusal.detail}")
            raise
        if not committed:
            return []  # accepted, not committed yet where it was sent: the next round sees it
        records, settled = [], []
        for index, (state, vouchers) in enumerate(batch):
            output = {"transaction_id": tx["id"], "output_index": index}
            records.append(_settlement(state["channel"], vouchers, {**output, "id": f"{tx['id']}:{index}",
                                                                     "operation": tx["operation"]}))
            settled.append(channel_from({**state, "settled": vouchers[-1]["total"],
                                         "sequence": vouchers[-1]["sequence"]}))
        self.store.record_settlements(records, COMMITTED)
        self.stats["settlements"] += 1
        self.stats["last_settlement"] = time.time()
        return settled

    def _settle_halves(self, batch, states, network):
        """Settle `batch` again in two halves, each channel from its read `states` (None:
        gone) with the vouchers the ledger has not settled."""
        rest = [(state, [voucher for voucher in vouchers if voucher["sequence"] > state["sequence"]])
                for state, (_, vouchers) in zip(states, batch) if state is not None]
        rest = [(state, vouchers) for state, vouchers in rest if vouchers]
        half = (len(rest) + 1) // 2
        settled = []
        for part in (rest[:half], rest[half:]):
            if part:
                try:
                    settled += self._settle_batch(part, network)
                except Exception as exc:  # that half's channel is recorded; the other goes on
                    log.warning("settling %d channels: %s", len(part), exc)
        return settled

    def _split(self, track):
        """The track's split in force (id, payees), read at most every FRESH["track"] seconds."""
        entry = self.splits.get(track)
        if entry is None or time.monotonic() - entry[1] > FRESH["track"]:
            entry = self.splits[track] = [self.ledger.split_in_force(track), time.monotonic()]
        if entry[0] is None:
            raise LedgerDown(f"track {track} has no split in force")
        return entry[0]

    # -- what the receiver tells players and operators

    async def channel_view(self, channel_id, track=None):
        channel = await self._channel(channel_id)
        if channel is None:
            return None
        held = self._held(channel)
        view = {"channel": channel.id, "listener": channel.listener, "receiver": channel.receiver,
                "status": channel.status, "deposit": channel.deposit,
                "sequence": held.sequence, "total": held.total,
                "settled_sequence": channel.settled_sequence, "settled_total": channel.settled_total,
                "closes_at": channel.closes_at}
        if track is not None:
            lane = (channel.listener, track)
            if lane not in self.lanes_read:
                await self._read_lane(lane)
            view["track"] = track
            view["next_play"] = self.lanes.get(lane, 0)
        return view

    def status(self):
        return {"receiver": self.key, "vouchers": self.store.count(),
                "channels": len(self.held),
                "unsettled_channels": sum(self._maybe_unsettled(channel_id, held)
                                          for channel_id, held in self.held.items()),
                "settle_every_s": self.settle_every,
                "settle_after": self.settle_after, **self.stats,
                "nodes": [client.api_url for client in self.ledger.clients]}

    # -- HTTP

    async def handle(self, method, path, query, body):
        """(status, JSON answer) for one request (docs/receiver.md)."""
        parts = [part for part in path.split("/") if part]
        try:
            if parts == ["vouchers"] and method == "POST":
                if body.lstrip()[:1] == b"[":  # several vouchers at once
                    return 200, {"answers": await self.accept_many(_voucher_list(body))}
                return 200, await self.accept(body)
            if parts == [] and method == "GET":
                return 200, self.status()
            if len(parts) >= 2 and parts[0] == "channels":
                return await self._channel_route(method, parts[1], parts[2:], query)
        except refusals.VoucherRefused as refusal:
            self.stats["refused"] += 1
            return refusal.status, refusal.to_dict()
        except Exception as exc:  # a bug: answer it, keep serving the others
            log.exception("%s %s failed", method, path)
            return 500, {"status": "refused", "code": "RECEIVER_INTERNAL_ERROR", "retry": True,
                         "detail": f"{type(exc).__name__}: {exc}"}
        return 404, {"status": "refused", "code": "NOT_FOUND",
                     "detail": f"no route {method} {path}; see docs/receiver.md"}

    async def _channel_route(self, method, channel_id, rest, query):
        if rest == [] and method == "GET":
            view = await self.channel_view(channel_id, query.get("track"))
            if view is None:
                raise refusals.UnknownChannel(f"channel {channel_id}", field="channel")
            return 200, view
        if rest == ["vouchers"] and method == "GET":
            after = int(query.get("after", "0")) if query.get("after", "0").isdigit() else 0
            return 200, {"channel": channel_id, "vouchers": self.store.vouchers(channel_id, after, 1000)}
        if rest == ["settle"] and method == "POST":
            settled = await self.settle_due(only=channel_id)
            channel = await self._channel(channel_id)
            return 200, {"channel": channel_id, "settlements": settled,
                         "settled_sequence": channel.settled_sequence if channel else None,
                         "settled_total": channel.settled_total if channel else None}
        return 404, {"status": "refused", "code": "NOT_FOUND",
                     "detail": f"no route {method} /channels/{channel_id}/{'/'.join(rest)}"}

    async def run(self, host, port, ready=None):
        """Serve until stopped (or until the store fails)."""
        from bigchaindb_resonate.receiver.http import serve

        server, close_connections = await serve(self.handle, host, port)
        tasks = [asyncio.ensure_future(self.settle_forever()),
                 asyncio.ensure_future(self.watch_closing())]
        if ready:
            ready(server.sockets[0].getsockname()[:2])
        try:
            await self.stopped.wait()
        finally:
            for task in tasks:
                task.cancel()
            server.close()
            await close_connections()
        return 1 if self.failed else 0


def batches_in_force(network):
    """Whether the rules version in force (as a node answered `network`) accepts
    CHANNEL_SETTLE_BATCH; a network without it runs version 1."""
    return network["parameters"].get("rules_version", 1) >= BATCHED_SETTLEMENTS


def _voucher_list(body):
    try:
        vouchers = rapidjson.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise refusals.Malformed("not JSON") from None
    if len(vouchers) > MAX_BATCH:
        raise refusals.Malformed(f"{len(vouchers)} vouchers", expected=f"at most {MAX_BATCH}")
    return vouchers


class Commit:
    """One group commit, and the requests waiting for it to be synced. Each request waits
    on a future of its own, answered together when the commit ends: one wake-up per
    request, and a request cancelled (its connection closed) cancels nothing else."""
    __slots__ = ("waiters", "done", "error")

    def __init__(self, done=False):
        self.waiters, self.done, self.error = [], done, None

    def wait(self):
        """A future resolved once the commit is synced, or failed with StoreFailed."""
        waiter = asyncio.get_running_loop().create_future()
        self.answer(waiter, None)
        return waiter

    def answer(self, waiter, result):
        """Set `waiter`'s result to `result` once the commit is synced."""
        if self.done:
            self._answer(waiter, result)
        else:
            self.waiters.append((waiter, result))

    def finish(self, error=None):
        """The commit is synced (`error` None) or failed (what the store said)."""
        self.done, self.error = True, error
        for waiter, result in self.waiters:
            self._answer(waiter, result)
        self.waiters = []

    def _answer(self, waiter, result):
        if waiter.cancelled():
            return
        if self.error is None:
            waiter.set_result(result)
        else:
            waiter.set_exception(refusals.StoreFailed(self.error))


STORED = Commit(done=True)  # what is on disk already: answered at once


def _settlement(channel_id, vouchers, tx):
    """What the store keeps of a channel's settlement (`tx`: the batch's id and the
    channel's output in it, or the attempt refused)."""
    return {"id": tx["id"], "channel": channel_id, "first_sequence": vouchers[0]["sequence"],
            "last_sequence": vouchers[-1]["sequence"], "total": vouchers[-1]["total"],
            "root": merkle_root(vouchers), "tx": tx}


def _document(kind, value):
    """A cached fact as JSON, to store and read back with _fact."""
    if kind == "channel":  # as the ledger's read shows it (ledger.channel_from)
        return {"channel": value.id, "listener": value.listener, "receiver": value.receiver,
                "deposit": value.deposit, "status": value.status,
                "sequence": value.settled_sequence, "settled": value.settled_total,
                "closes_at": value.closes_at}
    return {name: sorted(field) if isinstance(field, frozenset) else field
            for name, field in dataclasses.asdict(value).items()}


def _fact(kind, document):
    if kind == "channel":
        return channel_from(document)
    if kind == "track":
        return checks.Track(**document)
    return checks.Licence(**{name: frozenset(field) if isinstance(field, list) else field
                             for name, field in document.items()})


_day = [0.0, ""]


def _today():
    """Today's UTC date, YYYY-MM-DD (worked out once a second)."""
    now = time.time()
    if now - _day[0] > 1:
        _day[:] = [now, datetime.datetime.fromtimestamp(now, datetime.timezone.utc).date().isoformat()]
    return _day[1]
