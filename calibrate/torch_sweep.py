#!/usr/bin/env python3
"""Kernels as the frameworks run them, timed on the device machine through PyTorch.

gwsim-calibrate-device (kernels/) times gwsim's own CUDA kernels and the vendor libraries it links
(cuBLAS, cuBLASLt, NCCL). What a training framework launches besides those comes from PyTorch's
own kernels and the attention libraries it ships: FlashAttention-2 (SDPA's flash backend), cuDNN's
fused attention (SDPA's cudnn backend, the one Transformer Engine uses on Hopper), the fused AdamW,
RMSNorm, cross-entropy over a vocabulary, and the per-kernel launch cost with and without CUDA
graphs. This script times those, checks each against a float32 reference, and writes the raw
numbers (no fitting) to one JSON file:

    python3 calibrate/torch_sweep.py --out $OUT/torch-kernels.json [--budget-s 200] [--quick]

Schema gwsim.torch-kernels/1: {device, software, started_utc, records: [{section, op, variant,
shape, median_s, min_s, repeats, flops, bytes, checked, max_rel_error}], skipped: [{what, why}]}.
FLOPs follow the FlashAttention papers' convention (forward 4*b*h*s^2*d, halved under a causal
mask; backward 2.5x the forward, written for d_qk != d_v as 2*b*h*s^2*(3*d_qk + 2*d_v)); bytes
are the fewest a kernel must move (each input read once, each output written once).
Timing: CUDA events around each repetition, the L2 flushed (a 256 MB write) before each, median
of the repetitions; run on the card as found (no clock or power settings touched).
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

L2_FLUSH_BYTES = 256 << 20


class Sweep:
    def __init__(self, budget_s, quick):
        self.t0 = time.monotonic()
        self.budget_s = budget_s
        self.quick = quick
        self.records = []
        self.skipped = []
        self.flush_buf = torch.empty(L2_FLUSH_BYTES // 4, dtype=torch.float32, device="cuda")

    def over_budget(self):
        return time.monotonic() - self.t0 > self.budget_s

    def skip(self, what, why):
        self.skipped.append({"what": what, "why": str(why)[:1000]})
        print(f"  skip {what}: {str(why)[:600]}", flush=True)

    def time(self, fn, budget_s=0.15, min_reps=5, max_reps=100, flush=True):
        """Median and min seconds of fn() over repetitions, each between its own events."""
        for _ in range(3):
            fn()
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        one = max(start.elapsed_time(end) / 1e3, 1e-6)
        reps = int(min(max_reps, max(min_reps, budget_s / one)))
        times = []
        for _ in range(reps):
            if flush:
                self.flush_buf.zero_()
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            fn()
            e.record()
            torch.cuda.synchronize()
            times.append(s.elapsed_time(e) / 1e3)
        times.sort()
        return times[len(times) // 2], times[0], reps

    def record(self, section, op, variant, shape, timing, flops, nbytes, checked=False, err=None):
        median, lo, reps = timing
        if err is not None and not math.isfinite(err):  # JSON has no Infinity: a failed check is null
            err, checked = None, False
        self.records.append({"section": section, "op": op, "variant": variant, "shape": shape,
                             "median_s": median, "min_s": lo, "repeats": reps, "flops": flops,
                             "bytes": nbytes, "checked": checked, "max_rel_error": err})
        rate = f"{flops / median / 1e12:8.1f} TFLOP/s" if flops else f"{nbytes / median / 1e9:8.1f} GB/s"
        desc = " ".join(f"{k}={v}" for k, v in shape.items())
        print(f"  {op:<18} {variant:<22} {desc:<58} {median * 1e6:10.1f} us {rate}", flush=True)


def rel_err(out, ref):
    out, ref = out.double(), ref.double()
    if not torch.isfinite(out).all():
        return float("inf")
    return float((out - ref).norm() / ref.norm().clamp_min(1e-30))


# ---------------------------------------------------------------- launch cost
def sweep_launch(sw):
    """Per-kernel cost of a tiny kernel: eager launches back to back (host-bound), the same kernels
    replayed from a CUDA graph (device-side launch and tail), and the host's enqueue time."""
    x = torch.zeros(1, device="cuda")
    n = 2000

    def eager():
        for _ in range(n):
            x.add_(1)

    timing = sw.time(eager, budget_s=0.5, min_reps=5, max_reps=20, flush=False)
    sw.record("launch", "tiny_kernel", "eager_stream", {"kernels": n},
              tuple(v / n if i < 2 else v for i, v in enumerate(timing)), 0, 0)
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(n):
        x.add_(1)
    host = (time.perf_counter() - t) / n
    torch.cuda.synchronize()
    sw.record("launch", "tiny_kernel", "host_enqueue", {"kernels": n}, (host, host, 1), 0, 0)
    g = torch.cuda.CUDAGraph()
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        eager()
    torch.cuda.current_stream().wait_stream(s)
    with torch.cuda.graph(g):
        eager()
    timing = sw.time(g.replay, budget_s=0.5, min_reps=5, max_reps=20, flush=False)
    sw.record("launch", "tiny_kernel", "cuda_graph", {"kernels": n},
              tuple(v / n if i < 2 else v for i, v in enumerate(timing)), 0, 0)


def sweep_copy(sw):
    """Device-to-device copies from 64 KiB to 2 GiB: the fixed cost and the size ramp of a
    memory-bound kernel (bytes counted read + write)."""
    sizes = [1 << p for p in range(16, 32, 1 if not sw.quick else 3)]
    for nbytes in sizes:
        if sw.over_budget():
            return sw.skip(f"copy {nbytes}", "budget spent")
        a = torch.empty(nbytes // 2, dtype=torch.bfloat16, device="cuda")
        b = torch.empty_like(a)
        timing = sw.time(lambda: b.copy_(a))
        sw.record("memory", "copy", "torch_copy", {"bytes": nbytes}, timing, 0, 2 * nbytes)


# ---------------------------------------------------------------- attention
def attention_flops(b, h, s, d_qk, d_v, causal, backward):
    # Matmul FLOPs as the FlashAttention papers count them; a causal mask halves them.
    pairs = b * h * s * s * (0.5 if causal else 1.0)
    return 2 * pairs * ((3 * d_qk + 2 * d_v) if backward else (d_qk + d_v))


def attention_check(backend, d_qk, d_v, causal, gqa):
    from torch.nn.attention import sdpa_kernel
    torch.manual_seed(1)
    hq, hkv = (8, 2) if gqa else (8, 8)
    q = torch.randn(2, hq, 512, d_qk, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    k = torch.randn(2, hkv, 512, d_qk, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    v = torch.randn(2, hkv, 512, d_v, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    do = torch.randn(2, hq, 512, d_v, device="cuda", dtype=torch.bfloat16)
    with sdpa_kernel([backend]):
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=gqa)
        out.backward(do)
    qf, kf, vf = (t.detach().float().requires_grad_() for t in (q, k, v))
    ref = F.scaled_dot_product_attention(qf, kf, vf, is_causal=causal, enable_gqa=gqa)
    ref.backward(do.float())
    return max(rel_err(out, ref), rel_err(q.grad, qf.grad), rel_err(k.grad, kf.grad), rel_err(v.grad, vf.grad))


def sweep_attention(sw):
    """SDPA forward and backward per backend, head dim and sequence length, with the FlashAttention-3
    paper's setup (16k tokens per batch, 2048 hidden: heads = 2048 / d_qk), plus the GQA and MLA
    shapes of Llama 3 405B (TP 8: 16 query heads, 1 KV head) and DeepSeek-V3 (d_qk 192, d_v 128)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    backends = {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION,
                "efficient": SDPBackend.EFFICIENT_ATTENTION}
    heads_dims = [(64, 64), (128, 128), (192, 128), (256, 256)]
    seqs = [512, 1024, 2048, 4096, 8192, 16384] if not sw.quick else [1024, 8192]
    configs = []
    for d_qk, d_v in heads_dims:
        for causal in (True, False):
            for s in seqs:
                configs.append(("fa3_setup", 16384 // s, 2048 // d_qk, 2048 // d_qk, s, d_qk, d_v, causal))
    for s in (4096, 8192):
        configs.append(("llama405b_tp8", max(1, 16384 // s), 16, 1, s, 128, 128, True))
        configs.append(("dsv3_mla", max(1, 16384 // s), 128, 128, s, 192, 128, True))
    checked = {}
    for name, backend in backends.items():
        for model, b, hq, hkv, s, d_qk, d_v, causal in configs:
            # The memory-efficient backend (xFormers-derived) only where the others may refuse d_qk != d_v.
            if name == "efficient" and d_qk == d_v:
                continue
            what = f"attention {name} {model} s={s} d={d_qk}/{d_v} causal={causal}"
            if sw.over_budget():
                sw.skip(what, "budget spent")
                continue
            gqa = hkv != hq
            key = (name, d_qk, d_v, causal, gqa)
            try:
                if key not in checked:
                    checked[key] = attention_check(backend, d_qk, d_v, causal, gqa)
                err = checked[key]
                q = torch.randn(b, hq, s, d_qk, device="cuda", dtype=torch.bfloat16, requires_grad=True)
                k = torch.randn(b, hkv, s, d_qk, device="cuda", dtype=torch.bfloat16, requires_grad=True)
                v = torch.randn(b, hkv, s, d_v, device="cuda", dtype=torch.bfloat16, requires_grad=True)
                do = torch.randn(b, hq, s, d_v, device="cuda", dtype=torch.bfloat16)
                shape = {"model": model, "batch": b, "heads": hq, "kv_heads": hkv, "seq_len": s,
                         "d_qk": d_qk, "d_v": d_v, "causal": causal}
                io_fwd = 2 * (q.numel() + k.numel() + v.numel() + do.numel())
                with sdpa_kernel([backend]):
                    fwd = sw.time(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=gqa))
                    out = F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=gqa)
                    bwd = sw.time(lambda: torch.autograd.grad(out, (q, k, v), do, retain_graph=True))
                ok = err < 2e-2
                sw.record("attention", "attention_forward", name, shape, fwd,
                          attention_flops(b, hq, s, d_qk, d_v, causal, False), io_fwd, ok, err)
                sw.record("attention", "attention_backward", name, shape, bwd,
                          attention_flops(b, hq, s, d_qk, d_v, causal, True), 2 * io_fwd, ok, err)
                del q, k, v, do, out
            except Exception as e:  # a backend that refuses a shape says so and the sweep goes on
                sw.skip(what, e)


# ---------------------------------------------------------------- GEMMs at DeepGEMM's shapes
DEEPGEMM_NK = [(2112, 7168), (24576, 1536), (32768, 512), (7168, 16384), (4096, 7168), (7168, 2048)]


def blockwise_fp8(x, w):
    """DeepSeek-V3's FP8 recipe: activations x (M x K) scaled per 1 x 128 block, weights w (N x K)
    per 128 x 128 block, each block to E4M3's range (448). Returns the FP8 tensors and their scales
    in the layouts cuBLAS takes through torch._scaled_mm: the 1 x 128 scales outer-dim-major
    (M x K/128, stride 1 along M), the 128 x 128 ones as (K/128 x N/128), the transpose of N/128 x K/128."""
    m, k = x.shape
    n = w.shape[0]
    xb = x.view(m, k // 128, 128)
    xs = xb.abs().amax(-1).clamp_min(1e-12) / 448
    x8 = (xb / xs[..., None]).view(m, k).to(torch.float8_e4m3fn)
    wb = w.view(n // 128, 128, k // 128, 128)
    ws = wb.abs().amax(dim=(1, 3)).clamp_min(1e-12) / 448
    w8 = (wb / ws[:, None, :, None]).view(n, k).to(torch.float8_e4m3fn)
    return x8, xs.t().contiguous().t(), w8, ws.t()


def sweep_gemm(sw):
    """FP8 (E4M3, per-tensor scales, through torch._scaled_mm = cuBLASLt) and BF16 GEMMs at the
    shapes of DeepGEMM's published table, M = 64, 128, 4096; then FP8 with DeepSeek's block scales
    (1x128 activations, 128x128 weights) where this PyTorch and cuBLAS take them."""
    ms = [64, 128, 4096] if not sw.quick else [64, 4096]
    one = torch.ones((), device="cuda", dtype=torch.float32)
    for m in ms:
        for n, k in DEEPGEMM_NK:
            if sw.over_budget():
                return sw.skip(f"gemm M={m}", "budget spent")
            shape = {"M": m, "N": n, "K": k, "layout": "TN"}
            x = torch.randn(m, k, device="cuda") / 4
            w = torch.randn(n, k, device="cuda") / 4
            ref = x @ w.t()
            x8, w8 = x.to(torch.float8_e4m3fn), w.to(torch.float8_e4m3fn)
            xb, wb = x.to(torch.bfloat16), w.to(torch.bfloat16)
            flops = 2.0 * m * n * k
            try:
                out = torch._scaled_mm(x8, w8.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16)
                err = rel_err(out, ref)
                t = sw.time(lambda: torch._scaled_mm(x8, w8.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16))
                sw.record("gemm", "gemm_fp8", "scaled_mm_tensorwise", shape, t, flops, m * k + n * k + 2 * m * n,
                          err < 0.1, err)
            except Exception as e:
                sw.skip(f"gemm_fp8 tensorwise M={m} N={n} K={k}", e)
            if n % 128 == 0:
                try:
                    xq, sxq, wq, swq = blockwise_fp8(x, w)
                    out = torch._scaled_mm(xq, wq.t(), scale_a=sxq, scale_b=swq, out_dtype=torch.bfloat16)
                    err = rel_err(out, ref)
                    t = sw.time(lambda: torch._scaled_mm(xq, wq.t(), scale_a=sxq, scale_b=swq, out_dtype=torch.bfloat16))
                    sw.record("gemm", "gemm_fp8", "scaled_mm_blockwise_1x128_128x128", shape, t, flops,
                              m * k + n * k + 2 * m * n, err < 0.1, err)
                except Exception as e:
                    sw.skip(f"gemm_fp8 blockwise M={m} N={n} K={k}", e)
            out = xb @ wb.t()
            err = rel_err(out, ref)
            t = sw.time(lambda: xb @ wb.t())
            sw.record("gemm", "gemm_bf16", "torch_mm", shape, t, flops, 2 * (m * k + n * k + m * n), err < 2e-2, err)
            del x, w, ref, x8, w8, xb, wb


def sweep_carveout(sw):
    """GEMMs with SMs held back for communication (DeepSeek-V3 keeps 20 of 132 for its all-to-all
    kernels): cuBLAS's SM-count target through torch's carve-out, 0 and 20 SMs, at DeepSeek-V3's
    training shapes (M = 4096 tokens) and a square."""
    set_carveout = getattr(torch._C, "_set_sm_carveout_experimental", None)
    if set_carveout is None:
        return sw.skip("carveout", "this PyTorch has no torch._C._set_sm_carveout_experimental")
    one = torch.ones((), device="cuda", dtype=torch.float32)
    shapes = [(4096, n, k) for n, k in DEEPGEMM_NK] + [(8192, 8192, 8192)]
    try:
        for m, n, k in shapes:
            if sw.over_budget():
                return sw.skip("carveout", "budget spent")
            x = torch.randn(m, k, device="cuda") / 4
            w = torch.randn(n, k, device="cuda") / 4
            xb, wb = x.to(torch.bfloat16), w.to(torch.bfloat16)
            x8, w8 = x.to(torch.float8_e4m3fn), w.to(torch.float8_e4m3fn)
            for carve in (0, 20):
                set_carveout(carve)
                shape = {"M": m, "N": n, "K": k, "sms_held_back": carve}
                sw.record("carveout", "gemm_bf16", f"torch_mm_carveout_{carve}", shape,
                          sw.time(lambda: xb @ wb.t()), 2.0 * m * n * k, 2 * (m * k + n * k + m * n))
                sw.record("carveout", "gemm_fp8", f"scaled_mm_tensorwise_carveout_{carve}", shape,
                          sw.time(lambda: torch._scaled_mm(x8, w8.t(), scale_a=one, scale_b=one,
                                                           out_dtype=torch.bfloat16)),
                          2.0 * m * n * k, m * k + n * k + 2 * m * n)
            del x, w, xb, wb, x8, w8
    finally:
        set_carveout(0)


def sweep_grouped(sw):
    """MoE expert GEMMs as PyTorch runs them (torch._grouped_mm, BF16, the path torchtitan's MoE
    takes): 8 experts of DeepSeek-V3's width (gate_up 7168 -> 4096, down 2048 -> 7168) at 128 to
    8192 tokens per expert, balanced."""
    grouped = getattr(torch, "_grouped_mm", None)
    if grouped is None:
        return sw.skip("grouped", "this PyTorch has no torch._grouped_mm")
    experts = 8
    for name, k, n in (("gate_up", 7168, 4096), ("down", 2048, 7168)):
        for per_expert in (128, 512, 2048, 8192):
            if sw.over_budget():
                return sw.skip("grouped", "budget spent")
            try:
                tokens = experts * per_expert
                x = torch.randn(tokens, k, device="cuda", dtype=torch.bfloat16)
                w = torch.randn(experts, n, k, device="cuda", dtype=torch.bfloat16) / 16
                offs = torch.arange(per_expert, tokens + 1, per_expert, device="cuda", dtype=torch.int32)
                out = grouped(x, w.transpose(-2, -1), offs=offs)
                ref = torch.cat([x[i * per_expert:(i + 1) * per_expert].float() @ w[i].float().t()
                                 for i in range(experts)])
                err = rel_err(out, ref)
                shape = {"experts": experts, "tokens_per_expert": per_expert, "K": k, "N": n, "proj": name}
                sw.record("grouped", "grouped_gemm_bf16", "torch_grouped_mm", shape,
                          sw.time(lambda: grouped(x, w.transpose(-2, -1), offs=offs)),
                          2.0 * tokens * k * n, 2 * (tokens * k + experts * n * k + tokens * n), err < 2e-2, err)
                del x, w, out, ref
            except Exception as e:
                sw.skip(f"grouped {name} {per_expert}", e)


# ---------------------------------------------------------------- kernels between the GEMMs
def sweep_elementwise(sw):
    """The memory-bound kernels of a transformer layer as PyTorch runs them (eager, as a framework
    without fusion would), at Llama 3 8B / 405B (TP 8, SP) and DeepSeek-V3 widths."""
    torch.manual_seed(2)
    widths = [("llama8b", 8192, 4096), ("dsv3", 4096, 7168), ("llama405b_sp8", 1024, 16384)]
    for model, T, h in widths:
        if sw.over_budget():
            return sw.skip(f"elementwise {model}", "budget spent")
        x = torch.randn(T, h, device="cuda", dtype=torch.bfloat16, requires_grad=True)
        wgt = torch.ones(h, device="cuda", dtype=torch.bfloat16, requires_grad=True)
        dy = torch.randn(T, h, device="cuda", dtype=torch.bfloat16)
        shape = {"model": model, "tokens": T, "hidden": h}
        y = F.rms_norm(x, (h,), wgt, 1e-6)
        ref = x.detach().float() * torch.rsqrt(x.detach().float().pow(2).mean(-1, keepdim=True) + 1e-6)
        err = rel_err(y, ref)
        sw.record("elementwise", "rms_norm_forward", "torch", shape,
                  sw.time(lambda: F.rms_norm(x, (h,), wgt, 1e-6)), 0, 2 * 2 * T * h, err < 1e-2, err)
        sw.record("elementwise", "rms_norm_backward", "torch", shape,
                  sw.time(lambda: torch.autograd.grad(y, (x, wgt), dy, retain_graph=True)), 0, 3 * 2 * T * h)
        res = torch.randn_like(dy)
        sw.record("elementwise", "residual_add", "torch", shape, sw.time(lambda: dy + res), 0, 3 * 2 * T * h)
        gate, up = torch.randn(T, 2 * h, device="cuda", dtype=torch.bfloat16).chunk(2, dim=-1)
        gate, up = gate.contiguous(), up.contiguous()
        sw.record("elementwise", "swiglu_forward", "torch_eager_silu_mul", shape,
                  sw.time(lambda: F.silu(gate) * up), 0, 3 * 2 * T * h)
        # Rotary on the query: x*cos + rotate_half(x)*sin, the composite a framework without a fused
        # kernel launches (several kernels); bytes of the fused form (read x, cos, sin; write out).
        q = torch.randn(T, h, device="cuda", dtype=torch.bfloat16)
        cos = torch.randn(T, h, device="cuda", dtype=torch.bfloat16)
        sin = torch.randn_like(cos)

        def rope():
            q1, q2 = q.chunk(2, dim=-1)
            return q * cos + torch.cat((-q2, q1), dim=-1) * sin
        sw.record("elementwise", "rope", "torch_eager_composite", shape, sw.time(rope), 0, 4 * 2 * T * h)
        del x, wgt, dy, y, res, gate, up, q, cos, sin


def sweep_cross_entropy(sw):
    """Cross-entropy over the vocabulary, forward and backward, from BF16 logits (Llama 3: 128256,
    DeepSeek-V3: 129280; 8192 and 4096 tokens)."""
    for model, T, V in [("llama3", 8192, 128256), ("dsv3", 4096, 129280)]:
        if sw.over_budget():
            return sw.skip(f"cross_entropy {model}", "budget spent")
        logits = torch.randn(T, V, device="cuda", dtype=torch.bfloat16, requires_grad=True)
        target = torch.randint(0, V, (T,), device="cuda")
        shape = {"model": model, "tokens": T, "vocab": V}
        loss = F.cross_entropy(logits, target)
        ref = F.cross_entropy(logits.detach().float(), target)
        err = rel_err(loss.detach(), ref)
        sw.record("cross_entropy", "cross_entropy_forward", "torch", shape,
                  sw.time(lambda: F.cross_entropy(logits, target)), 0, 2 * T * V, err < 1e-2, err)
        sw.record("cross_entropy", "cross_entropy_backward", "torch", shape,
                  sw.time(lambda: torch.autograd.grad(loss, logits, retain_graph=True)), 0, 2 * 2 * T * V)
        del logits, loss


def sweep_optimizer(sw):
    """AdamW steps over FP32 parameters, gradients and moments: fused (one kernel per chunk of
    tensors) and foreach, on a few large tensors and on many small ones. Bytes: read p, g, m, v and
    write p, m, v = 28 per parameter."""
    total = (512 << 20) if not sw.quick else (128 << 20)
    for layout, count in [("4_tensors", 4), ("2048_tensors", 2048)]:
        for impl in ("fused", "foreach"):
            if sw.over_budget():
                return sw.skip(f"adamw {impl} {layout}", "budget spent")
            params = [torch.zeros(total // count, device="cuda", requires_grad=True) for _ in range(count)]
            for p in params:
                p.grad = torch.randn_like(p)
            opt = torch.optim.AdamW(params, lr=1e-4, fused=(impl == "fused"), foreach=(impl == "foreach"))
            opt.step()
            err = None
            checked = False
            if layout == "4_tensors":
                # First step from zero moments: p <- p*(1 - lr*wd) - lr*sign-ish(g) up to eps; compare
                # the fused/foreach result with the closed form for step 1, in float64.
                q = torch.zeros(1 << 20, device="cuda", requires_grad=True)
                q.grad = params[0].grad[: 1 << 20].clone()
                o2 = torch.optim.AdamW([q], lr=1e-4, fused=(impl == "fused"), foreach=(impl == "foreach"))
                o2.step()
                gq = q.grad.double()
                ref = -1e-4 * gq / (gq.abs() + 1e-8)
                err = rel_err(q.detach(), ref)
                checked = err < 1e-3
                del q, o2
            sw.record("optimizer", "adamw_step", impl, {"params": total, "tensors": count},
                      sw.time(opt.step, budget_s=0.3, min_reps=5, max_reps=20), 0, 28 * total, checked, err)
            del params, opt
            torch.cuda.empty_cache()


def device_info():
    p = torch.cuda.get_device_properties(0)
    return {"name": p.name, "sm_count": p.multi_processor_count, "hbm_bytes": p.total_memory,
            "compute_capability": f"{p.major}.{p.minor}", "l2_bytes": getattr(p, "L2_cache_size", 0)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--budget-s", type=float, default=200)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated sections")
    args = ap.parse_args()
    sw = Sweep(args.budget_s, args.quick)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    sections = [("launch", sweep_launch), ("copy", sweep_copy), ("gemm", sweep_gemm),
                ("attention", sweep_attention), ("carveout", sweep_carveout), ("grouped", sweep_grouped),
                ("elementwise", sweep_elementwise),
                ("cross_entropy", sweep_cross_entropy), ("optimizer", sweep_optimizer)]
    only = set(filter(None, args.only.split(",")))
    for name, fn in sections:
        if only and name not in only:
            continue
        t = time.monotonic()
        print(f"== {name}", flush=True)
        try:
            fn(sw)
        except Exception as e:
            sw.skip(name, e)
        print(f"== {name}: {time.monotonic() - t:.1f} s", flush=True)
    result = {"schema": "gwsim.torch-kernels/1", "device": device_info(),
              "software": {"torch": torch.__version__, "cuda": torch.version.cuda,
                           "cudnn": torch.backends.cudnn.version()},
              "started_utc": started, "quick": args.quick, "records": sw.records, "skipped": sw.skipped}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"torch sweep: {len(sw.records)} records, {len(sw.skipped)} skipped, "
          f"{time.monotonic() - sw.t0:.1f} s; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
