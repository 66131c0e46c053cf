#!/usr/bin/env python3
"""Markdown tables of the accuracy-recovery study (issue 4) from results/recovery/<group>/.

    python3 paper/summarize-recovery.py [GROUP ...]   (default: every group)

One row per (attack, defense): final test accuracy per seed and its mean, malicious and honest
updates rejected (summed over seeds and rounds, from clients.csv), the final backdoor success
rate (mean over seeds), and the updates' lengths over their round's upper median (the ratio
smpc-verify's norm bound compares with its factor, 2): the largest honest ratio and the range
of the malicious ones, over seeds and rounds. Unfinished runs (*.partial) are skipped. The
study's runs are single run folders (paper/run-recovery.sh), not a sweep, so this script makes
paper/README.md's tables from them.
"""
import csv
import glob
import os
import re
import sys
from collections import defaultdict

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "results", "recovery")


def runs(group):
    out = defaultdict(dict)
    for d in sorted(glob.glob(os.path.join(ROOT, group, "*-s*"))):
        m = re.match(r"(.+)-s(\d+)$", os.path.basename(d))
        if not m or not os.path.isdir(d) or not os.path.exists(os.path.join(d, "manifest.toml")):
            continue
        out[m.group(1)][int(m.group(2))] = d
    return out


def ratios(clients):
    """Each update's `update_norm` over its round's upper median (sorted ascending, index n/2)."""
    by_round = defaultdict(list)
    for c in clients:
        by_round[c["round"]].append(c)
    out = []
    for rows in by_round.values():
        norms = sorted(float(c["update_norm"]) for c in rows)
        med = norms[len(norms) // 2]
        out += [(c["malicious"] == "true", float(c["update_norm"]) / med) for c in rows]
    return out


def stats(d):
    rounds = list(csv.DictReader(open(os.path.join(d, "rounds.csv"))))
    clients = list(csv.DictReader(open(os.path.join(d, "clients.csv"))))
    mal = [c for c in clients if c["malicious"] == "true"]
    hon = [c for c in clients if c["malicious"] != "true"]
    verdicts = {c["verdict"] for c in clients}
    rej = lambda rows: sum(c["verdict"] == "rejected" for c in rows)
    asr = rounds[-1].get("backdoor_asr", "")
    return {
        "acc": float(rounds[-1]["test_accuracy"]),
        "tp": rej(mal), "mal": len(mal), "fp": rej(hon), "hon": len(hon),
        "verdicts": verdicts != {"n/a"},
        "asr": float(asr) if asr else None,
        "ratios": ratios(clients),
    }


def table(group):
    print(f"### `{group}`\n")
    print("| attack | defense | final accuracy (per seed) | mean | malicious rejected | honest rejected | backdoor success | length ÷ upper median: honest max; malicious |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, seeds in sorted(runs(group).items()):
        attack, _, defense = name.partition("-") if name.startswith("none") else split(name)
        s = {k: stats(v) for k, v in sorted(seeds.items())}
        accs = " / ".join(f"s{k} {v['acc']:.3f}" for k, v in s.items())
        mean = sum(v["acc"] for v in s.values()) / len(s)
        ver = any(v["verdicts"] for v in s.values())
        tp = f"{sum(v['tp'] for v in s.values())}/{sum(v['mal'] for v in s.values())}" if ver and any(v["mal"] for v in s.values()) else "n/a"
        fp = f"{sum(v['fp'] for v in s.values())}/{sum(v['hon'] for v in s.values())}" if ver else "n/a"
        asrs = [v["asr"] for v in s.values() if v["asr"] is not None]
        asr = f"{sum(asrs) / len(asrs):.3f}" if asrs else ""
        print(f"| {attack} | {defense} | {accs} | {mean:.3f} | {tp} | {fp} | {asr} | {ratio_cell(s)} |")
    print()


def ratio_cell(s):
    r = [x for v in s.values() for x in v["ratios"]]
    hon = [x for m, x in r if not m]
    mal = [x for m, x in r if m]
    cell = f"{max(hon):.2f}" if hon else ""
    return cell + (f"; {min(mal):.2f}–{max(mal):.2f}" if mal else "")


ATTACKS = ["backdoor", "fang", "gaussian-noise", "ipm", "label-flip", "lie", "min-max", "min-sum", "none", "scaling", "sign-flip"]


def split(name):
    for a in sorted(ATTACKS, key=len, reverse=True):
        if name.startswith(a + "-"):
            return a, None, name[len(a) + 1:]
    return name, None, ""


if __name__ == "__main__":
    groups = sys.argv[1:] or sorted(os.listdir(ROOT))
    for g in groups:
        table(g)
