#!/usr/bin/python3
"""Independent reference for src/sampler.ts: mulberry32, the fmix32 (seed, epoch) mixing, rejection-sampled
Fisher-Yates. Prints the values pinned in test/sampler.test.ts, so the order is checked to be the same
bit-exact sequence a second implementation computes (and thus on every machine).

Usage: /usr/bin/python3 scripts/reference_permutation.py
"""
M = 0xFFFFFFFF


def imul(a, b):
    return (a * b) & M


def mulberry32(seed):
    state = [seed & M]

    def nxt():
        state[0] = (state[0] + 0x6D2B79F5) & M
        t = state[0]
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & M
        return (t ^ (t >> 14)) & M

    return nxt


def fmix32(h):
    h &= M
    h ^= h >> 16
    h = imul(h, 0x85EBCA6B)
    h ^= h >> 13
    h = imul(h, 0xC2B2AE35)
    return h ^ (h >> 16)


def below(nxt, n):
    limit = 2**32 - (2**32 % n)
    x = nxt()
    while x >= limit:
        x = nxt()
    return x % n


def permutation(n, seed, epoch):
    nxt = mulberry32(fmix32((seed & M) ^ fmix32(epoch + 0x9E3779B9)))
    p = list(range(n))
    for i in range(n - 1, 0, -1):
        j = below(nxt, i + 1)
        p[i], p[j] = p[j], p[i]
    return p


if __name__ == "__main__":
    g = mulberry32(42)
    print("mulberry32(42):", [g() for _ in range(4)])
    for seed, epoch in [(42, 0), (42, 1), (7, 0)]:
        print(f"permutation(12, {seed}, {epoch}):", permutation(12, seed, epoch))
