#!/usr/bin/env python3
"""Measured profile entries from calibrate/torch_sweep.py's records (framework kernels).

    python3 calibrate/profile_from_torch_sweep.py \
        calibrate/measurements/h200-2026-12-04/torch-kernels.json \
        calibrate/measurements/h200-2026-12-04/torch-kernels-2.json \
        --variant cudnn --peak-tflops 989.4 --profile hwmodels/profiles/h200-sxm-measured.json

Writes into the profile (and writes it back), from the sweeps given:
  - attention.bf16 and attention_backward.bf16: efficiency, source and by_shape (overhead_us is
    kept), the FlashAttention-3-setup series of one SDPA backend (16k tokens per batch, 2048 hidden);
  - gemm.fp8's block_scaled rate: cuBLASLt's block-scaled (1x128 / 128x128) over per-tensor E4M3
    throughput, median over the M = 4096 shapes timed both ways in one file (DeepSeek-V3's
    training GEMMs; the small-M ratios vary more and are left out).
Run it after `gwsim calibrate --fit` (which takes attention from the --base profile and rewrites
gemm.fp8) and before `gwsim calibrate --derive`. Entries it writes start their source with
"measured: ", which --derive carries to same-architecture targets as it carries fitted ones.

Efficiency is expressed in gwsim's own FLOP convention (workloads/src/training_plan.cpp): forward
2 * pairs * (d_qk + d_v), backward 2.5x the forward, both over the catalogue dense peak; a series
is keyed by gwsim's attention head dim, (d_qk + d_v) / 2 (MLA's 192/128 is 160).
"""
import argparse
import json
import sys


def series_from(records, op, variant, peak):
    by_key = {}
    for r in records:
        s = r["shape"]
        if r["op"] != op or r["variant"] != variant or s.get("model") != "fa3_setup" or not r["checked"]:
            continue
        pairs = s["batch"] * s["heads"] * s["seq_len"] ** 2 * (0.5 if s["causal"] else 1.0)
        forward_flops = 2 * pairs * (s["d_qk"] + s["d_v"])
        flops = forward_flops * (2.5 if op == "attention_backward" else 1.0)
        eff = flops / r["median_s"] / (peak * 1e12)
        key = ((s["d_qk"] + s["d_v"]) / 2, bool(s["causal"]))
        by_key.setdefault(key, []).append({"seq_len": float(s["seq_len"]), "efficiency": round(eff, 4)})
    series = []
    for (head_dim, causal), points in sorted(by_key.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        points.sort(key=lambda p: p["seq_len"])
        series.append({"head_dim": float(head_dim), "causal": causal, "points": points})
    return series


def block_scaled_rate(sweeps):
    """(rate, source) of block-scaled over per-tensor FP8 GEMM throughput, or None."""
    for path, sweep in sweeps:
        times = {}
        for r in sweep["records"]:
            s = r["shape"]
            if r["op"] == "gemm_fp8" and r["section"] == "gemm" and s.get("M") == 4096 and r["checked"]:
                times.setdefault((s["N"], s["K"]), {})[r["variant"]] = r["median_s"]
        ratios = sorted(v["scaled_mm_tensorwise"] / v["scaled_mm_blockwise_1x128_128x128"]
                        for v in times.values()
                        if "scaled_mm_tensorwise" in v and "scaled_mm_blockwise_1x128_128x128" in v)
        if ratios:
            rate = round(ratios[len(ratios) // 2] if len(ratios) % 2 else
                         (ratios[len(ratios) // 2 - 1] + ratios[len(ratios) // 2]) / 2, 3)
            sw = sweep["software"]
            return rate, (f"measured: {path}: PyTorch {sw['torch']} torch._scaled_mm (cuBLASLt) on "
                          f"{sweep['device']['name']}, block-scaled E4M3 (1x128 activation, 128x128 weight "
                          f"scales) over per-tensor E4M3 throughput at M = 4096, DeepGEMM's N x K with N % 128 "
                          f"== 0 ({len(ratios)} shapes): median {rate} (range {ratios[0]:.3f}-{ratios[-1]:.3f})")
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sweeps", nargs="+")
    ap.add_argument("--variant", default="cudnn")
    ap.add_argument("--peak-tflops", type=float, required=True)
    ap.add_argument("--profile", required=True)
    args = ap.parse_args()
    sweeps = [(path, json.load(open(path))) for path in args.sweeps]
    profile = json.load(open(args.profile))
    path, sweep = next(((p, s) for p, s in sweeps if any(r["section"] == "attention" for r in s["records"])),
                       (None, None))
    if sweep is None:
        sys.exit("no attention records in the sweeps given")
    dev, sw = sweep["device"], sweep["software"]
    where = (f"{path}: PyTorch {sw['torch']} SDPA '{args.variant}' backend (cuDNN {sw['cudnn']}) on "
             f"{dev['name']}, BF16, batch x sequence = 16k tokens, 2048 hidden, sequence 512-16k, checked "
             f"against a float32 reference; efficiency = gwsim-convention FLOPs / median time / "
             f"{args.peak_tflops} TFLOP/s; head_dim = (d_qk + d_v) / 2 (160 = MLA's 192/128)")
    for op, key in (("attention_forward", "attention.bf16"), ("attention_backward", "attention_backward.bf16")):
        series = series_from(sweep["records"], op, args.variant, args.peak_tflops)
        if not series:
            sys.exit(f"{path}: no checked {op} records of variant {args.variant}")
        # The scalar, used where an op has no attention shape (MLA decode's compute-bound side, shapes
        # outside training), keeps the meaning of the published entries it replaces: the forward's
        # is the kernel's top rate (FlashAttention-3's "up to 740 TFLOP/s"), the backward's head dim
        # 128, no mask, sequence 4096 (FlashAttention-3's backward figure).
        if op == "attention_forward":
            ref = max(p["efficiency"] for s in series for p in s["points"])
            what = "the table's top rate"
        else:
            ref = next(p["efficiency"] for s in series if s["head_dim"] == 128 and not s["causal"]
                       for p in s["points"] if p["seq_len"] == 4096)
            what = "head dim 128, no mask, sequence 4096 of the table"
        entry = profile["ops"].setdefault(key, {"overhead_us": 2.0})
        entry["efficiency"] = ref
        entry["source"] = f"measured: {op.replace('_', ' ')}, {what}; {where}"
        entry["by_shape"] = {"source": where, "series": series}
    written = ["attention.bf16", "attention_backward.bf16"]
    block = block_scaled_rate(sweeps)
    if block and "gemm.fp8" in profile["ops"]:
        profile["ops"]["gemm.fp8"]["block_scaled"] = {"rate": block[0], "source": block[1]}
        written.append(f"gemm.fp8 block_scaled (rate {block[0]})")
    with open(args.profile, "w") as f:
        json.dump(profile, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"updated {', '.join(written)} in {args.profile}")


if __name__ == "__main__":
    main()
