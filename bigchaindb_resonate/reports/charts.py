"""Charts of a report, as PNG files: plays and earnings over time per track, and who was
paid what under which split. Drawn with matplotlib's Agg backend (no display needed).

Plays are counted per track and consensus day as the lines stream by, so memory grows with
tracks and days, not with plays.
"""
import datetime
from pathlib import Path

DAY = 86400
TOP_TRACKS = 10  # more lines than this are unreadable on one chart
FILES = ("plays-and-earnings.png", "payees.png")


def _short(record_id):
    return record_id[:10] + "…" if record_id and len(record_id) > 10 else str(record_id)


def write_charts(lines, directory):
    """Draw the charts of a report's lines into `directory`; returns the files written."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot

    days, isrcs, paid = {}, {}, {}
    for line in lines:
        if line["kind"] == "play":
            day = (line["time"] or 0) // DAY * DAY
            plays, tokens = days.setdefault(line["track"], {}).get(day, (0, 0))
            days[line["track"]][day] = (plays + 1, tokens + line["price"])
        elif line["kind"] == "track":
            isrcs[line["track"]] = line["isrc"]
        elif line["kind"] in ("payee", "coop"):
            split = _short(line["split"]) if line.get("split") else "co-op share"
            by_split = paid.setdefault(line["payee"], {})
            by_split[split] = by_split.get(split, 0) + line["amount"]
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = [directory / name for name in FILES]

    figure, (plays_axis, tokens_axis) = pyplot.subplots(2, 1, figsize=(10, 7), sharex=True)
    ranked = sorted(days, key=lambda track: -sum(tokens for _, tokens in days[track].values()))
    for track in ranked[:TOP_TRACKS]:
        points = sorted(days[track].items())
        when = [datetime.datetime.fromtimestamp(day, datetime.timezone.utc) for day, _ in points]
        label = isrcs.get(track) or _short(track)
        plays_axis.step(when, _cumulative(plays for _, (plays, _) in points), where="post",
                        label=label)
        tokens_axis.step(when, _cumulative(tokens / 1000 for _, (_, tokens) in points),
                         where="post", label=label)
    plays_axis.set_ylabel("plays (cumulative)")
    tokens_axis.set_ylabel("spent, credits (cumulative)")
    tokens_axis.set_xlabel("consensus time (UTC, per day)")
    plays_axis.set_title(f"Plays and earnings per track (top {TOP_TRACKS} by earnings)")
    if ranked:
        plays_axis.legend(fontsize="small")
    figure.autofmt_xdate()
    figure.savefig(files[0], dpi=100)
    pyplot.close(figure)

    figure, axis = pyplot.subplots(figsize=(10, max(3, 0.4 * len(paid) + 1.5)))
    payees = sorted(paid, key=lambda payee: sum(paid[payee].values()))
    splits = sorted({split for by_split in paid.values() for split in by_split})
    left = [0] * len(payees)
    for split in splits:
        amounts = [paid[payee].get(split, 0) / 1000 for payee in payees]
        axis.barh([_short(payee) for payee in payees], amounts, left=left, label=f"split {split}")
        left = [start + amount for start, amount in zip(left, amounts)]
    axis.set_xlabel("received, credits")
    axis.set_title("Who was paid what, by split")
    if splits:
        axis.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(files[1], dpi=100)
    pyplot.close(figure)
    return files


def _cumulative(values):
    total, found = 0, []
    for value in values:
        total += value
        found.append(total)
    return found
