#!/usr/bin/env python3
"""The same JWE as the Rust benchmark (ECDH-ES + A256GCM, kid, P-256, same plaintext), made by
Python jwcrypto, to compare. Prints the median and p99 per token.

    pip install jwcrypto
    python3 crates/d1-client/benches/jwe_jwcrypto.py
"""
import json
import statistics
import time

from jwcrypto import jwe, jwk

key = jwk.JWK.generate(kty="EC", crv="P-256", kid="enc-1")
public = jwk.JWK.from_json(key.export_public())
plaintext = json.dumps(
    {"pan": "4000056655665556", "exp": "3912", "name": "JANE Q DOE", "cvv2": "123", "panSequenceNumber": "01"},
    separators=(",", ":"),
).encode()
header = json.dumps({"alg": "ECDH-ES", "enc": "A256GCM", "kid": "enc-1"})


def one():
    token = jwe.JWE(plaintext, protected=header)
    token.add_recipient(public)
    return token.serialize(compact=True)


# Sanity: decrypts with the private key.
check = jwe.JWE()
check.deserialize(one(), key=key)
assert check.payload == plaintext

for _ in range(200):
    one()
samples = []
for _ in range(3000):
    t = time.perf_counter()
    one()
    samples.append(time.perf_counter() - t)
samples.sort()
print(f"jwcrypto JWE (ECDH-ES+A256GCM, P-256): n={len(samples)} "
      f"median={statistics.median(samples) * 1e6:.1f}us p99={samples[int(len(samples) * 0.99)] * 1e6:.1f}us")
