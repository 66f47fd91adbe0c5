#!/usr/bin/env python3
"""Replays the malformed-input classes of issue 12 against the gwsim executable.

Every shipped input (scenarios, serving files, models, clusters, profiles, HuggingFace configs, a
calibration measurement file) is mutated leaf by leaf and key by key: deleted, the wrong type, 0, -1,
integers that wrap a 32-bit field, 1e400 (as text), a denormal, 1e308, a huge string, an unknown key,
a duplicate key, nesting 10,000 deep, invalid UTF-8; scenarios and serving files also get the same
values and malformed assignments through --set. Each mutant runs the command that reads that input,
with a timeout, and must keep gwsim's contract:

  - exit 0 or 2, nothing else (no crash, no internal error), within the timeout (no hang);
  - exit 2: exactly one line on stderr naming the file (or the option) and a JSON path `$` (or
    `--set`), and no output file or temporary left behind;
  - exit 0: the output is valid JSON with no null and no NaN/Infinity.

The full cross product is larger than CI's budget: mutants are ordered by a hash of their name
and the first --budget run (every class of every file comes first, so each is covered), which
keeps the choice deterministic. --budget 0 runs all of them.

Usage: mutation_replay.py GWSIM ROOT [--budget N] [--jobs J] [--timeout S] [--list]
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter

WRAP = ["4294967296", "4294967297", "2147483647", "18446744073709551615"]
HUGE_STRING = '"' + "x" * 100_000 + '"'
DEEP = "[" * 10_000 + "]" * 10_000
BAD_UTF8 = b'"caf\xff\xfe"'

# (class, raw JSON text replacing a value)
VALUE_MUTATIONS = [
    ("zero", "0"), ("minus-one", "-1"),
    ("wrap-2^32", WRAP[0]), ("wrap-2^32+1", WRAP[1]), ("int-max", WRAP[2]), ("uint64-max", WRAP[3]),
    ("1e400", "1e400"), ("denormal", "1e-320"), ("1e308", "1e308"), ("fraction", "0.5"),
    ("huge-string", HUGE_STRING), ("deep-10000", DEEP), ("null", "null"), ("empty-object", "{}"),
    ("empty-array", "[]"), ("bool", "true"),
]


def leaves(doc, path=()):
    """Every value's path in a JSON document (objects and arrays included), parents first."""
    yield path
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from leaves(v, path + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:4]):  # the first few elements of an array stand for the rest
            yield from leaves(v, path + (i,))


def has_null(doc):
    if doc is None:
        return True
    if isinstance(doc, dict):
        return any(has_null(v) for v in doc.values())
    if isinstance(doc, list):
        return any(has_null(v) for v in doc)
    return False


def get(doc, path):
    for p in path:
        doc = doc[p]
    return doc


def render(doc, path, raw):
    """The document as text with the value at `path` replaced by raw JSON text (bytes)."""
    marker = "@@gwsim-mutant@@"
    d = json.loads(json.dumps(doc))
    if path:
        get(d, path[:-1])[path[-1]] = marker
    else:
        d = marker
    text = json.dumps(d, indent=1).encode()
    return text.replace(json.dumps(marker).encode(), raw, 1)


def wrong_type(value):
    if isinstance(value, bool):
        return b'"yes"'
    if isinstance(value, (int, float)):
        return b'"12"'
    if isinstance(value, str):
        return b"12"
    if isinstance(value, list):
        return b'{"a": 1}'
    if isinstance(value, dict):
        return b"[1, 2]"
    return b'"x"'


def file_mutants(doc):
    """(class, path text, mutated file bytes) for one document."""
    for path in leaves(doc):
        where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
        value = get(doc, path)
        if path:
            parent = get(doc, path[:-1])
            d = json.loads(json.dumps(doc))
            del get(d, path[:-1])[path[-1]]
            yield "delete", where, json.dumps(d, indent=1).encode()
            if isinstance(parent, dict):
                # The same key twice: the original value first, then a different one.
                body = json.dumps(doc, indent=1).encode()
                key = json.dumps(path[-1]).encode()
                sub = json.dumps(parent, indent=1).encode()
                dup = sub.replace(b"{", b"{" + key + b": " + json.dumps(value).encode() + b",", 1)
                if sub in body:
                    yield "duplicate-key", where, body.replace(sub, dup, 1)
        yield "wrong-type", where, render(doc, path, wrong_type(value))
        if not isinstance(value, (dict, list)) or not path:
            for cls, raw in VALUE_MUTATIONS:
                yield cls, where, render(doc, path, raw.encode())
            if isinstance(value, str):
                yield "invalid-utf8", where, render(doc, path, BAD_UTF8)
        if isinstance(value, dict):
            d = json.loads(json.dumps(doc))
            get(d, path)["unknown_key_xyz"] = 1
            yield "unknown-key", where, json.dumps(d, indent=1).encode()
            d = json.loads(json.dumps(doc))
            get(d, path)["notes"] = "@@deep@@"
            yield "deep-notes", where, json.dumps(d).encode().replace(b'"@@deep@@"', DEEP.encode())
    yield "truncated", "$", json.dumps(doc).encode()[:-7]
    yield "not-json", "$", b"\xef\xbb\xbfnot json at all"


SET_VALUES = [(c, r) for c, r in VALUE_MUTATIONS if c not in ("huge-string",)] + [("bare-word", "dualpipe")]
SET_MALFORMED = [
    ("set-no-equals", "parallelism.tp"), ("set-empty-key", "=3"), ("set-double-dot", "parallelism..tp=2"),
    ("set-trailing-dot", "parallelism.=2"), ("set-into-scalar", "parallelism.pp.x=1"),
    ("set-deep-path", ".".join(["a"] * 5000) + "=1"), ("set-deep-notes", "notes=" + "[" * 3000 + "]" * 3000),
    ("set-notes-array", "notes=" + json.dumps([list(range(50))] * 500)),
    ("set-dup-keys", 'parallelism={"tp": 1, "tp": 2}'), ("set-1e400", "training.tokens=1e400"),
]


def set_mutants(doc):
    """(class, path text, --set argument as bytes) for a scenario."""
    for path in leaves(doc):
        if not path or any(isinstance(p, int) for p in path):
            continue
        key = ".".join(path)
        value = get(doc, path)
        if isinstance(value, (dict, list)):
            continue
        for cls, raw in SET_VALUES:
            yield "set-" + cls, "$." + key, (key + "=" + raw).encode()
        yield "set-invalid-utf8", "$." + key, key.encode() + b"=caf\xff"
    for cls, arg in SET_MALFORMED:
        yield cls, "--set", arg.encode()
    yield "set-notes-invalid-utf8", "--set", b"notes=\xff"


class Target:
    """A shipped input and the command that reads it ({input} is the mutated file, {out} the output)."""

    def __init__(self, path, argv, label):
        self.path, self.argv, self.label = path, argv, label


def targets(root):
    j = lambda *p: os.path.join(root, *p)
    small = j("scenarios", "megatron-sc21-1p7b-32xa100.json")
    out = []
    for d, cmd in (("scenarios", ["run", "{input}", "--quiet", "--out", "{out}"]),
                   (os.path.join("scenarios", "serving"), ["serve", "{input}", "--quiet", "--out", "{out}"])):
        for f in sorted(os.listdir(j(d))):
            if f.endswith(".json"):
                out.append(Target(j(d, f), cmd, cmd[0]))
    # An RL file names its part files relative to itself: the mutant (elsewhere) gets them back
    # as absolute paths through --set, so that its own mutation is what gets refused.
    for f in sorted(os.listdir(j("scenarios", "rl"))):
        if f.endswith(".json"):
            doc = json.load(open(j("scenarios", "rl", f)))
            parts = []
            for block, key in (("policy", "training"), ("policy", "rollout"), ("algorithm", "critic"), ("reward", "training")):
                if isinstance(doc.get(block), dict) and key in doc[block]:
                    parts += ["--set", "%s.%s=%s" % (block, key, j("scenarios", "rl", doc[block][key]))]
            out.append(Target(j("scenarios", "rl", f), ["rl", "{input}"] + parts + ["--quiet", "--out", "{out}"], "rl"))
    for f in sorted(os.listdir(j("workloads", "models"))):
        if f.endswith(".json"):
            out.append(Target(j("workloads", "models", f), ["model", "show", "{input}"], "model-show"))
    for f in sorted(os.listdir(j("hwmodels", "data", "clusters"))):
        out.append(Target(j("hwmodels", "data", "clusters", f),
                          ["collective", "--op", "all_reduce", "--gpus", "16", "--bytes", "1e6", "--backend", "analytical",
                           "--cluster", "{input}", "--json"], "collective"))
    for f in sorted(os.listdir(j("hwmodels", "profiles"))):
        # Derived for its own GPU: efficiencies carry over only within one architecture.
        gpu = json.load(open(j("hwmodels", "profiles", f)))["gpu"]
        out.append(Target(j("hwmodels", "profiles", f), ["calibrate", "--derive", "{input}", "--to", gpu, "--out", "{out}"],
                          "calibrate-derive"))
    for f in sorted(os.listdir(j("tests", "workloads", "data"))):
        if "config" in f and f.endswith(".json"):
            out.append(Target(j("tests", "workloads", "data", f), ["model", "import", "{input}", "--name", "m", "--out", "{out}"],
                              "model-import"))
    out.append(Target(j("tests", "calibrate", "data", "h200-2026-11-28-measurements.json"),
                      ["calibrate", "--fit", "{input}", "--gpu", "H200", "--out", "{out}"], "calibrate-fit"))
    # A model also goes through a whole training plan (layers, MTP depth ... bound the work).
    out.append(Target(j("workloads", "models", "megatron-sc21-1p7b.json"),
                      ["run", small, "--set", "model={input}", "--quiet", "--out", "{out}"], "run-with-model"))
    return out


def run_one(gwsim, job, timeout, scratch):
    """Runs one mutant; returns (outcome, detail)."""
    name, target, content, set_arg = job
    work = tempfile.mkdtemp(dir=scratch)
    try:
        base = os.path.basename(target.path)
        if set_arg is None:
            inp = os.path.join(work, base)
            with open(inp, "wb") as f:
                f.write(content)
        else:
            inp = target.path
        out = os.path.join(work, "out.json")
        argv = [gwsim] + [a.replace("{input}", inp).replace("{out}", out) for a in target.argv]
        argv = [a.encode() for a in argv]
        if set_arg is not None:
            argv += [b"--set", set_arg]
        try:
            p = subprocess.run(argv, cwd=work, capture_output=True, timeout=timeout, env=dict(os.environ, LC_ALL="C"))
        except subprocess.TimeoutExpired:
            return "hang", f"over {timeout} s"
        err = p.stderr.decode("utf-8", "replace")
        left = sorted(f for f in os.listdir(work) if f != base)
        if p.returncode == 2:
            lines = err.splitlines()
            if len(lines) != 1:
                return "unclear", f"{len(lines)} stderr lines: {err[:300]!r}"
            line = lines[0]
            names_input = base in line or any(o in line for o in ("--set", "--out", "--gpus", "--cluster", "command line"))
            if not names_input or not ("$" in line or "--" in line):
                return "unclear", line[:300]
            if left:
                return "partial", f"exit 2 left {left}"
            return "refused", ""
        if p.returncode != 0:
            return "crash", f"exit {p.returncode}: {err[-300:]!r}"
        if "{out}" in " ".join(target.argv):
            if left != ["out.json"]:
                return "partial", f"exit 0 left {left}"
            def refuse_constant(name):
                raise ValueError(f"{name} in the output")
            try:
                doc = json.loads(open(out, "rb").read(), parse_constant=refuse_constant)
            except ValueError as e:
                return "bad-output", str(e)[:200]
            if has_null(doc):
                return "null", "the output holds null"
        return "ok", ""
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gwsim")
    ap.add_argument("root")
    ap.add_argument("--budget", type=int, default=2000, help="mutants to run (0: all)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--list", action="store_true", help="print the mutants and exit")
    a = ap.parse_args()

    jobs = []
    for t in targets(a.root):
        doc = json.load(open(t.path))
        for cls, where, content in file_mutants(doc):
            jobs.append((f"{os.path.relpath(t.path, a.root)}|{t.label}|{cls}|{where}", t, content, None))
        if t.label in ("run", "serve"):
            for cls, where, arg in set_mutants(doc):
                jobs.append((f"{os.path.relpath(t.path, a.root)}|{t.label}|{cls}|{where}", t, None, arg))
    total = len(jobs)
    # Deterministic sample: the first mutant of each (file, class) first, then by a stable hash.
    seen, first, rest = set(), [], []
    for job in jobs:
        key = tuple(job[0].split("|")[:3])
        (rest if key in seen else first).append(job)
        seen.add(key)
    h = lambda job: hashlib.sha256(job[0].encode()).hexdigest()
    ordered = sorted(first, key=h) + sorted(rest, key=h)
    chosen = ordered if a.budget == 0 else ordered[: a.budget]
    if a.list:
        for job in chosen:
            print(job[0])
        return 0

    scratch = tempfile.mkdtemp(prefix="gwsim-mutants-")
    outcomes, failures = Counter(), []
    try:
        # Each command must accept its unmutated input, or every mutant's refusal would prove nothing.
        for t in targets(a.root):
            outcome, detail = run_one(a.gwsim, ("baseline", t, open(t.path, "rb").read(), None), a.timeout, scratch)
            if outcome != "ok":
                failures.append(f"baseline {os.path.relpath(t.path, a.root)} {t.label}: {outcome} {detail}")
        with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
            futures = {pool.submit(run_one, a.gwsim, job, a.timeout, scratch): job for job in chosen}
            for fut in concurrent.futures.as_completed(futures):
                outcome, detail = fut.result()
                outcomes[outcome] += 1
                if outcome not in ("ok", "refused"):
                    failures.append(f"{outcome}: {futures[fut][0][:200]}: {detail}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for f in sorted(failures):
        print("FAIL", f)
    classes = len({tuple(j[0].split("|")[:3]) for j in chosen})
    print(f"{len(chosen)} of {total} mutants run ({classes} file x class pairs): " +
          ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    print(f"{len(chosen) + len(targets(a.root)) - len(failures)} passed, {len(failures)} failed "
          f"({len(targets(a.root))} unmutated baselines included)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
