#!/usr/bin/env python3
"""Python jwcrypto beside the Rust card-data JWE (ECDH-ES + A256GCM, kid, P-256, same plaintext).

    python3 jwe_jwcrypto.py [N]          # N tokens timed (default 3000); prints median and p99
    python3 jwe_jwcrypto.py --check FILE # decrypt the Rust tokens in FILE (from the order bench's
                                         # export-tokens) and compare each with its plaintext

Run by scripts/bench-all.sh in a venv with pinned versions (crates/d1-client/benches/
jwcrypto-requirements.txt); it prints the versions it ran with.
"""
import json
import statistics
import sys
import time
from importlib.metadata import version

from jwcrypto import jwe, jwk


def versions():
    return (f"jwcrypto {version('jwcrypto')}, cryptography {version('cryptography')}, "
            f"Python {sys.version.split()[0]}")


def check(path):
    """Every Rust token decrypts with the throw-away private key to exactly its plaintext."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    key = jwk.JWK(**doc["private_jwk"])
    for i, (token, expected) in enumerate(zip(doc["tokens"], doc["plaintexts"], strict=True)):
        reader = jwe.JWE()
        reader.deserialize(token, key=key)
        header = json.loads(reader.objects["protected"])
        assert header["alg"] == "ECDH-ES" and header["enc"] == "A256GCM", header
        assert header["kid"] == doc["private_jwk"]["kid"], header
        assert set(header["epk"]) >= {"kty", "crv", "x", "y"}, header
        got = json.loads(reader.payload)
        expected = {k: v for k, v in expected.items() if v is not None}
        if got != expected:
            sys.exit(f"token {i}: decrypted to {got}, expected {expected}")
    # A token changed by one character must not decrypt.
    parts = doc["tokens"][0].split(".")
    parts[3] = ("B" if parts[3][0] == "A" else "A") + parts[3][1:]
    try:
        jwe.JWE().deserialize(".".join(parts), key=key)
    except Exception:  # noqa: BLE001 - any refusal is the expected outcome
        pass
    else:
        sys.exit("a tampered token decrypted")
    print(f"jwcrypto check: {len(doc['tokens'])} Rust tokens decrypted to their exact plaintext, "
          f"a tampered one refused ({versions()})")


def bench(n):
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid="enc-1")
    public = jwk.JWK.from_json(key.export_public())
    plaintext = json.dumps(
        {"pan": "4000056655665556", "exp": "3912", "name": "JANE Q DOE", "cvv2": "123",
         "panSequenceNumber": "01"},
        separators=(",", ":"),
    ).encode()
    header = json.dumps({"alg": "ECDH-ES", "enc": "A256GCM", "kid": "enc-1"})

    def one():
        token = jwe.JWE(plaintext, protected=header)
        token.add_recipient(public)
        return token.serialize(compact=True)

    # Sanity: decrypts with the private key.
    reader = jwe.JWE()
    reader.deserialize(one(), key=key)
    assert reader.payload == plaintext

    for _ in range(n // 10):
        one()
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        one()
        samples.append(time.perf_counter() - t)
    samples.sort()
    us = [s * 1e6 for s in samples]
    print(f"jwcrypto JWE (ECDH-ES+A256GCM, P-256; {versions()}): n={n} "
          f"median={statistics.median(us):.1f}us p99={us[int(n * 0.99)]:.1f}us")
    print(f"RESULT|jwcrypto_jwe|{n}|{statistics.median(us):.1f}|{us[int(n * 0.95)]:.1f}|"
          f"{us[0]:.1f}|{us[-1]:.1f}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
    else:
        bench(int(sys.argv[1]) if len(sys.argv) > 1 else 3000)
