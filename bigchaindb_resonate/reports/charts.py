"""Charts of a report, as PNG files: plays and earnings per consensus day and track, and who
was paid what for which track. Drawn with matplotlib's Agg backend (no display needed).

Days are bars, not lines, so that a report of one day shows one bar per panel rather than
an invisible one-point line; each bar carries its value, tracks are named by title and
payees by the party their key registered (the report's `track` and `payee` lines), and
money is shown at the network's payout rate next to tokens. Plays are counted per track and
day as the lines stream by, so memory grows with tracks and days, not with plays.
"""
import datetime
from pathlib import Path

from bigchaindb_resonate.reports.dsr import decimal, micros

DAY = 86400
TOP_TRACKS = 8  # more colours than this are unreadable; the rest are summed as "others"
FILES = ("plays-and-earnings.png", "payees.png")
OTHERS = "other tracks"
FONT_SIZE = 11
WIDTH_INCHES = 9  # at 100 dpi: 900 pixels, legible when a phone scales it to its width


def _short(key):
    return key[:8] + "…" if key and len(key) > 8 else str(key)


def _day(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%d")


class _Figures:
    """What the charts show, gathered from a report's lines."""

    def __init__(self, lines):
        self.days, self.titles, self.paid, self.coop = {}, {}, {}, {}
        self.names, self.rate, self.currency = {}, None, None
        for line in lines:
            kind = line["kind"]
            if kind == "report":
                self.rate, self.currency = line.get("payout_rate"), line.get("payout_currency")
            elif kind == "play":
                by_track = self.days.setdefault(_day(line["time"] or 0), {})
                plays, free, tokens = by_track.get(line["track"], (0, 0, 0))
                by_track[line["track"]] = (plays + 1, free + (line["price"] == 0),
                                           tokens + line["price"])
            elif kind == "track":
                label = line.get("title") or _short(line["track"])
                if line.get("artist"):
                    label += f" ({line['artist']})"
                self.titles[line["track"]] = label
            elif kind == "payee":
                self.names[line["payee"]] = line.get("name")
                by_track = self.paid.setdefault(line["payee"], {})
                by_track[line["track"]] = by_track.get(line["track"], 0) + line["amount"]
            elif kind == "coop":
                self.coop[line["payee"]] = line["amount"]

    def money(self, tokens):
        """`tokens` as text in money at the payout rate, with the tokens."""
        if not self.rate:
            return f"{tokens} tokens"
        return f"{decimal(micros(tokens, self.rate))} {self.currency} ({tokens} tokens)"

    def in_money(self, tokens):
        return micros(tokens, self.rate) / 1e6 if self.rate else tokens

    @property
    def unit(self):
        return (f"{self.currency} (at {self.rate} tokens per {self.currency})" if self.rate
                else "tokens")

    def ranked_tracks(self):
        earned = {}
        for by_track in self.days.values():
            for track, (_, _, tokens) in by_track.items():
                earned[track] = earned.get(track, 0) + tokens
        ranked = sorted(earned, key=lambda track: (-earned[track], self.title(track)))
        return ranked[:TOP_TRACKS], ranked[TOP_TRACKS:]

    def title(self, track):
        return self.titles.get(track) or _short(track)

    def payee_label(self, payee):
        return self.names.get(payee) or f"key {_short(payee)}"


def figures(lines):
    """The charts' matplotlib figures, by file name (drawn, not yet saved)."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot

    pyplot.rcParams.update({"font.size": FONT_SIZE})
    found = _Figures(lines)
    return {FILES[0]: _plays_and_earnings(pyplot, found), FILES[1]: _payees(pyplot, found)}


def write_charts(lines, directory):
    """Draw the charts of a report's lines into `directory`; returns the files written."""
    from matplotlib import pyplot

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for name, figure in figures(lines).items():
        files.append(directory / name)
        figure.savefig(files[-1], dpi=100)
        pyplot.close(figure)
    return files


def _stacked_bars(axis, labels, series, label_of_total):
    """Bars stacked per series, each bar's total written above it."""
    bottoms = [0] * len(labels)
    for name, values in series:
        axis.bar(labels, values, bottom=bottoms, label=name, width=0.6)
        bottoms = [bottom + value for bottom, value in zip(bottoms, values)]
    for index, total in enumerate(bottoms):
        axis.annotate(label_of_total(index), (index, total), xytext=(0, 3),
                      textcoords="offset points", ha="center", va="bottom")
    axis.set_ylim(0, (max(bottoms, default=0) or 1) * 1.25)  # room for the labels above


def _plays_and_earnings(pyplot, found):
    from matplotlib.ticker import MaxNLocator

    days = sorted(found.days)
    shown, rest = found.ranked_tracks()
    figure, (plays_axis, money_axis) = pyplot.subplots(
        2, 1, figsize=(WIDTH_INCHES, 8), sharex=True)

    def column(track_ids, index):
        return [sum(found.days[day].get(track, (0, 0, 0))[index] for track in track_ids)
                for day in days]

    groups = [(found.title(track), [track]) for track in shown] + ([(OTHERS, rest)] if rest else [])
    plays = {day: sum(p for p, _, _ in found.days[day].values()) for day in days}
    free = {day: sum(f for _, f, _ in found.days[day].values()) for day in days}
    tokens = {day: sum(t for _, _, t in found.days[day].values()) for day in days}
    _stacked_bars(plays_axis, days, [(name, column(ids, 0)) for name, ids in groups],
                  lambda i: f"{plays[days[i]]} ({free[days[i]]} free)")
    _stacked_bars(money_axis, days,
                  [(name, [found.in_money(t) for t in column(ids, 2)]) for name, ids in groups],
                  lambda i: found.money(tokens[days[i]]).replace(" (", "\n("))
    plays_axis.set_ylabel("plays")
    plays_axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    plays_axis.set_title("Plays per day, by track (paid and free)")
    money_axis.set_ylabel(f"paid by listeners, {found.currency or 'tokens'}")
    money_axis.set_title(f"Earnings per day, by track, in {found.unit}")
    money_axis.set_xlabel("consensus day (UTC)")
    if groups:
        plays_axis.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    else:
        plays_axis.text(0.5, 0.5, "no plays in this report", ha="center",
                        transform=plays_axis.transAxes)
    pyplot.setp(money_axis.get_xticklabels(), rotation=30, ha="right")
    figure.tight_layout()
    return figure


def _payees(pyplot, found):
    payees = sorted(found.paid, key=lambda payee: (sum(found.paid[payee].values()),
                                                   found.payee_label(payee)))
    rows = [found.payee_label(payee) for payee in payees] + [
        f"co-op share ({found.names.get(key) or 'key ' + _short(key)})" for key in sorted(found.coop)]
    totals = [sum(found.paid[payee].values()) for payee in payees] + [
        found.coop[key] for key in sorted(found.coop)]
    tracks = sorted({track for by_track in found.paid.values() for track in by_track},
                    key=found.title)
    figure, axis = pyplot.subplots(figsize=(WIDTH_INCHES, max(3.5, 0.6 * len(rows) + 2)))
    left = [0] * len(rows)
    for track in tracks:
        amounts = [found.in_money(found.paid[payee].get(track, 0)) for payee in payees] + [0] * len(found.coop)
        axis.barh(rows, amounts, left=left, label=found.title(track), height=0.6)
        left = [start + amount for start, amount in zip(left, amounts)]
    if found.coop:
        coop = [0] * len(payees) + [found.in_money(found.coop[key]) for key in sorted(found.coop)]
        axis.barh(rows, coop, left=left, label="co-op share of every play", height=0.6,
                  color="0.6")
        left = [start + amount for start, amount in zip(left, coop)]
    for index, total in enumerate(totals):
        axis.annotate(found.money(total), (left[index], index), xytext=(4, 0),
                      textcoords="offset points", va="center")
    axis.set_xlim(0, (max(left, default=0) or 1) * 1.6)  # room for the labels after the bars
    axis.set_xlabel(f"received, {found.unit}")
    axis.set_title("Who was paid what, by track")
    if tracks or found.coop:
        axis.legend(fontsize="small", loc="lower right")
    else:
        axis.text(0.5, 0.5, "no payments in this report", ha="center", transform=axis.transAxes)
    figure.tight_layout()
    return figure
