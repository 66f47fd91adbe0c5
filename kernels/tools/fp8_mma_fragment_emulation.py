#!/usr/bin/env python3
"""Lane-level emulation of one K block of fp8_grouped_mma_kernel (kernels/cuda/grouped_gemm_fp8.cu).

No GPU needed (plain Python 3). It replays the kernel's ldmatrix row addresses for all 8 warps and
rebuilds each mma.sync m16n8k32 operand from the fragment tables of the PTX ISA, then checks that
the scattered accumulators equal A * B^T for a 128 x 128 x 128 tile. Semantics assumed:
  ldmatrix.x4 (non-trans, .b16): lanes 8i..8i+7 give the row addresses of matrix i; lane l then
    holds, from each matrix i, the 32-bit word l % 4 of row l / 4.
  mma.m16n8k32 with 8-bit inputs (g = lane / 4, t = lane % 4; each register 4 consecutive K bytes):
    a0 = A[g][4t..], a1 = A[g+8][4t..], a2 = A[g][16+4t..], a3 = A[g+8][16+4t..];
    b0 = B[k=4t..][n=g], b1 = B[k=16+4t..][g];  c0,c1 = C[g][2t, 2t+1], c2,c3 = C[g+8][2t, 2t+1].
This checks the kernel's indexing against that reading of the ISA, not the hardware.
"""
import random

ROW_BYTES = 144  # kRowBytes: 128 K bytes + 16 of padding


def main():
    random.seed(1)
    a_mat = [[random.randint(-8, 7) for _ in range(128)] for _ in range(128)]  # [m][k]
    b_mat = [[random.randint(-8, 7) for _ in range(128)] for _ in range(128)]  # [n][k] (a weight)
    sm_a = [0] * (128 * ROW_BYTES)
    sm_b = [0] * (128 * ROW_BYTES)
    for r in range(128):
        for k in range(128):
            sm_a[r * ROW_BYTES + k] = a_mat[r][k]
            sm_b[r * ROW_BYTES + k] = b_mat[r][k]

    def ldmatrix_x4(sm, lane_addr):
        out = [[None] * 4 for _ in range(32)]
        for i in range(4):
            rows = [lane_addr[8 * i + j] for j in range(8)]
            assert all(a % 16 == 0 for a in rows), "ldmatrix row addresses must be 16-byte aligned"
            for lane in range(32):
                base = rows[lane // 4] + 4 * (lane % 4)
                out[lane][i] = tuple(sm[base:base + 4])
        return out

    def mma(d, a, b):
        am = [[0] * 32 for _ in range(16)]
        bm = [[0] * 8 for _ in range(32)]
        for lane in range(32):
            g, t = lane // 4, lane % 4
            for j in range(4):
                row = g + (8 if j in (1, 3) else 0)
                col = 4 * t + (16 if j in (2, 3) else 0)
                for e in range(4):
                    am[row][col + e] = a[lane][j][e]
            for j in range(2):
                for e in range(4):
                    bm[4 * t + 16 * j + e][g] = b[lane][j][e]
        c = [[sum(am[i][k] * bm[k][j] for k in range(32)) for j in range(8)] for i in range(16)]
        for lane in range(32):
            g, t = lane // 4, lane % 4
            d[lane][0] += c[g][2 * t]
            d[lane][1] += c[g][2 * t + 1]
            d[lane][2] += c[g + 8][2 * t]
            d[lane][3] += c[g + 8][2 * t + 1]

    out = [[0] * 128 for _ in range(128)]
    for warp in range(8):
        wm, wn = warp // 4, warp % 4
        part = [[[[0] * 4 for _ in range(32)] for _ in range(4)] for _ in range(4)]  # [mi][ni][lane][c]
        for ks in range(4):
            a = []
            for mi in range(4):
                addrs = [(64 * wm + 16 * mi + (l & 7) + ((l >> 3) & 1) * 8) * ROW_BYTES + ks * 32 + (l >> 4) * 16
                         for l in range(32)]
                a.append(ldmatrix_x4(sm_a, addrs))
            for nj in range(2):
                addrs = [(32 * wn + 16 * nj + (l & 7) + (l >> 4) * 8) * ROW_BYTES + ks * 32 + ((l >> 3) & 1) * 16
                         for l in range(32)]
                b = ldmatrix_x4(sm_b, addrs)
                for mi in range(4):
                    mma(part[mi][2 * nj], a[mi], [[b[l][0], b[l][1]] for l in range(32)])
                    mma(part[mi][2 * nj + 1], a[mi], [[b[l][2], b[l][3]] for l in range(32)])
        for mi in range(4):
            for ni in range(4):
                for lane in range(32):
                    g, t = lane // 4, lane % 4
                    for half in range(2):
                        r = 64 * wm + 16 * mi + g + 8 * half
                        col = 32 * wn + 8 * ni + 2 * t
                        out[r][col] = part[mi][ni][lane][2 * half]
                        out[r][col + 1] = part[mi][ni][lane][2 * half + 1]
    ref = [[sum(a_mat[i][k] * b_mat[j][k] for k in range(128)) for j in range(128)] for i in range(128)]
    ok = out == ref
    # ldmatrix phases: the 8 rows of one matrix must fall in 8 distinct 16-byte bank groups.
    conflict_free = all(len({(r * ROW_BYTES % 128) // 16 for r in range(r0, r0 + 8)}) == 8 for r0 in range(128))
    print(f"fragment emulation matches A * B^T: {ok}; ldmatrix phases conflict-free: {conflict_free}")
    return 0 if ok and conflict_free else 1


if __name__ == "__main__":
    raise SystemExit(main())
