#!/usr/bin/env python3
"""Writes the hand-made nasty inputs in Fixtures/fuzz-regressions/.

Each is a file a hostile or broken office could drop into the shared
folder. FuzzRegressionTests feeds every file there to every decoder; they
must throw (or succeed) without crashing, hanging or allocating without
bound. The files are committed; run this again only to change them:

    python3 Tools/Fuzz/make-handmade-inputs.py

The changeset layout follows Docs/FORMATS.md, section 2.
"""
import hashlib
import os
import struct
import zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Fixtures", "fuzz-regressions")
MAGIC = b"SHCS\r\n\x1a\n"
STORE = b"5a3d0c1e-2b4f-4e6a-9c7d-8e1f2a3b4c5d"
DEPTH = 10_000  # JSON nesting, far beyond any parser's limit and a recursive decoder's stack


def varint(value):
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def string(data):
    return varint(len(data)) + data


def header_prefix(author=b"ks", sequence=1, store=STORE):
    """flags, store id, author, sequence, lamport, time, dependencies."""
    dependencies = varint(0) if sequence == 1 else varint(1) + string(author) + varint(sequence - 1)
    return varint(0) + string(store) + string(author) + varint(sequence) + varint(1) + varint(2 * 1_780_000_000_000) + dependencies


def changeset(prefix, payload, payload_size=None, compressed=None, signatures=b"\x00", header_length=None, seal=True, version=1):
    """A changeset file; by default every size and hash is right."""
    if compressed is None:
        compressed = zlib.compress(payload, 6)
    header = prefix + varint(len(payload) if payload_size is None else payload_size)
    header += varint(len(compressed)) + hashlib.sha256(payload).digest()
    body = MAGIC + struct.pack(">HI", version, len(header) if header_length is None else header_length) + header
    body += compressed + struct.pack(">I", len(signatures)) + signatures
    return body + (hashlib.sha256(body).digest() if seal else b"\x00" * 32)


def delta_prefix(delta, author=b"ks", sequence=2, store=STORE):
    """A format 2 header up to its dependencies: base digest, base count, mode and increments, added entries."""
    return varint(0) + string(store) + string(author) + varint(sequence) + varint(1) + varint(2 * 1_780_000_000_000) + delta


def touch(collection=b"cases", record=b"sak-1"):
    return b"\x06" + string(collection) + string(record)


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as handle:
        handle.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    one_edit = varint(1) + touch()

    # Changesets: declared lengths far beyond the file.
    write("handmade-huge-header-length.changeset",
          changeset(header_prefix(), one_edit, header_length=0xFFFFFFFF))
    write("handmade-huge-string-length.changeset",
          changeset(varint(0) + varint(1 << 62) + STORE + string(b"ks") + varint(1) + varint(1) + varint(0) + varint(0),
                    one_edit))
    write("handmade-huge-dependency-count.changeset",
          changeset(varint(0) + string(STORE) + string(b"ks") + varint(2) + varint(1) + varint(0) + varint((1 << 63) - 1),
                    one_edit))
    write("handmade-huge-signature-count.changeset",
          changeset(header_prefix(), one_edit, signatures=varint((1 << 64) - 1)))
    write("handmade-huge-signature-length.changeset",
          changeset(header_prefix(), one_edit, signatures=varint(1) + string(b"key") + varint(1 << 40) + b"\x00" * 64))
    write("handmade-huge-edit-count.changeset",
          changeset(header_prefix(), varint((1 << 64) - 1) + touch()))
    write("handmade-huge-string-in-edit.changeset",
          changeset(header_prefix(), varint(1) + b"\x06" + varint(1 << 50) + b"cases" + string(b"sak-1")))
    write("handmade-payload-size-over-limit.changeset",
          changeset(header_prefix(), one_edit, payload_size=(1 << 64) - 1))

    # Zlib bombs: 16 MiB of zeros in ~16 KB, with payload sizes that lie.
    bomb_payload = b"\x00" * (16 << 20)
    bomb = zlib.compress(bomb_payload, 9)
    write("handmade-zlib-bomb-says-small.changeset",
          changeset(header_prefix(), bomb_payload, payload_size=1000, compressed=bomb))
    write("handmade-zlib-bomb-says-huge.changeset",
          changeset(header_prefix(), bomb_payload, payload_size=512 << 20, compressed=bomb))
    write("handmade-zlib-bomb-says-one-more.changeset",
          changeset(header_prefix(), bomb_payload, payload_size=len(bomb_payload) + 1, compressed=bomb))
    truncated = zlib.compress(b"\x00" * (32 << 20), 9)
    truncated = truncated[:-64]
    write("handmade-zlib-bomb-truncated.changeset",
          changeset(header_prefix(), b"\x00" * (32 << 20), compressed=truncated))
    # A stream with stray bytes after its end, and one that is not zlib at all.
    write("handmade-zlib-stray-bytes.changeset",
          changeset(header_prefix(), one_edit, compressed=zlib.compress(one_edit) + b"\x00\x01"))
    write("handmade-zlib-garbage.changeset",
          changeset(header_prefix(), one_edit, compressed=b"\x78\x9c" + bytes(range(256)) * 4))

    # Payloads whose sizes and hashes are right, with an edit count close to
    # the payload size: 64 MiB of payload that decodes to ~22 million edits.
    # The first is zeros after the count (the decoder fails at the second
    # edit, after reserving room for all of them); the second is that many
    # touches of an empty record, which all decode.
    count = ((64 << 20) - 4) // 3  # the count itself takes 4 bytes
    reserve = varint(count) + b"\x00" * ((64 << 20) - len(varint(count)))
    write("handmade-edit-count-reserve.changeset", changeset(header_prefix(), reserve, compressed=zlib.compress(reserve, 9)))
    touches = varint(count) + b"\x06\x00\x00" * count
    write("handmade-many-empty-touches.changeset", changeset(header_prefix(), touches, compressed=zlib.compress(touches, 9)))

    # Sizes at the limits of Docs/FORMATS.md, section 2: a payload one byte
    # over 64 MiB (refused before inflating), a 2 MiB text value and a
    # record written with more than 4 MiB (both decode, and are rejected).
    over = varint(1) + touch() + b"\x00" * ((64 << 20) + 1 - len(varint(1) + touch()))
    write("handmade-payload-just-over-limit.changeset", changeset(header_prefix(), over, compressed=zlib.compress(over, 9)))
    big_text = varint(1) + b"\x01" + string(b"cases") + string(b"sak-1") + string(b"title") + b"\x05" + string(b"a" * (2 << 20))
    write("handmade-text-over-limit.changeset", changeset(header_prefix(), big_text, compressed=zlib.compress(big_text, 9)))
    fields = [b"title", b"notes", b"kommune", b"plan_type", b"status"]
    big_record = varint(len(fields)) + b"".join(
        b"\x01" + string(b"cases") + string(b"sak-1") + string(name) + b"\x05" + string(b"b" * (1 << 20)) for name in fields)
    write("handmade-record-over-limit.changeset", changeset(header_prefix(), big_record, compressed=zlib.compress(big_record, 9)))

    # Invalid UTF-8: in the author, and in an edit's text value.
    write("handmade-invalid-utf8-author.changeset",
          changeset(varint(0) + string(STORE) + string(b"k\xffs") + varint(1) + varint(1) + varint(0) + varint(0), one_edit))
    bad_text = varint(1) + b"\x01" + string(b"cases") + string(b"sak-1") + string(b"title") + b"\x05" + string(b"\xed\xa0\x80\xc0\xaf")
    write("handmade-invalid-utf8-text.changeset", changeset(header_prefix(), bad_text))

    # JSON nested 100,000 deep, where each decoder expects an object.
    nested_array = b"[" * DEPTH + b"]" * DEPTH
    nested_object = b'{"a":' * DEPTH + b"1" + b"}" * DEPTH
    write("handmade-deep-array.head.json", nested_array)
    write("handmade-deep-frontier.head.json",
          b'{"format":1,"office":"ks","frontier":' + nested_object + b',"snapshot":"' + b"0" * 64 + b'","time_ms":1}')
    write("handmade-deep-schema.samhand.json",
          b'{"changeset_format":1,"format":1,"store_id":"' + STORE + b'","schema":' + nested_object + b"}")
    write("handmade-deep-fields.schema.json", b'{"collections":{"cases":{"fields":' + nested_object + b"}}}")
    write("handmade-deep-mixed.schema.json", b'{"collections":' + b'[{"a":' * (DEPTH // 2) + b"0" + b"}]" * (DEPTH // 2) + b"}")

    # Invalid UTF-8 and lone surrogates in JSON strings and keys.
    write("handmade-invalid-utf8.head.json",
          b'{"format":1,"office":"k\xc0\xafs","frontier":{"\xff\xfe":1},"snapshot":"' + b"0" * 64 + b'","time_ms":1}')
    write("handmade-lone-surrogate.samhand.json",
          b'{"changeset_format":1,"format":1,"store_id":"\\ud800' + STORE[6:] + b'","schema":{"collections":{}}}')
    write("handmade-invalid-utf8.schema.json",
          b'{"collections":{"cases":{"description":"\xed\xa0\x80","fields":{"title":"text\xff"}}}}')
    # Numbers at and past the edges of Int64 and Double (the second head is valid).
    write("handmade-extreme-numbers.head.json",
          b'{"format":-9223372036854775808,"office":"ks","frontier":{"ks":9223372036854775807,"kdd":1e999},'
          b'"snapshot":"' + b"a" * 64 + b'","time_ms":-9223372036854775808}')
    write("handmade-extreme-time.head.json",
          b'{"format":1,"office":"ks","frontier":{"ks":9223372036854775807},'
          b'"snapshot":"' + b"a" * 64 + b'","time_ms":9223372036854775807}')
    # Signed heads: a signature of 2 bytes, one that is a number too large
    # for a double, and a key of the right length that is not a point.
    signed = b'{"format":1,"frontier":{"ks":1},"key":"' + b"d" * 64 + b'","office":"ks","signature":'
    tail = b',"snapshot":"' + b"a" * 64 + b'","time":"1970-01-01T00:00:00.001Z","time_ms":1}'
    write("handmade-short-signature.head.json", signed + b'"5fdb"' + tail)
    write("handmade-number-signature.head.json", signed + b"1e400" + tail)
    write("handmade-bad-key-signature.head.json", signed.replace(b"d" * 64, b"f" * 64) + b'"' + b"0" * 128 + b'"' + tail)


def checkpoint(frontier_entries, payload, payload_size=None, compressed=None, seal=True):
    """A checkpoint file (Docs/FORMATS.md, section 10); by default every size and hash is right."""
    if compressed is None:
        compressed = zlib.compress(payload, 6)
    frontier = varint(len(frontier_entries)) + b"".join(string(slug) + varint(counter) for slug, counter in frontier_entries)
    header = varint(0) + string(STORE) + frontier + varint(1) + varint(2 * 1_780_000_000_000) + b"\x00" * 32
    header += varint(len(payload) if payload_size is None else payload_size) + varint(len(compressed))
    header += hashlib.sha256(payload).digest()
    body = b"SHCP\r\n\x1a\n" + struct.pack(">HI", 1, len(header)) + header + compressed
    return body + (hashlib.sha256(body).digest() if seal else b"\x00" * 32)


def checkpoints():
    # A few hundred bytes that claim half a gigabyte of payload: refused
    # before inflating, since zlib cannot expand that much.
    write("handmade-inflate-claim.checkpoint", checkpoint([(b"ks", 1)], b"", payload_size=500 * 1024 * 1024, compressed=zlib.compress(b"\x00" * 100_000, 9)))
    # A table that claims more rows than the payload could hold.
    tables = varint(0) + varint(6) + string(b"roster_changes") + varint(4)
    tables += b"".join(string(name) for name in [b"author", b"seq", b"lamport", b"edits"]) + varint(0xFFFFFFFFFFFF)
    write("handmade-huge-row-count.checkpoint", checkpoint([(b"ks", 1)], tables))
    # A vector entry repeated, and a counter of zero.
    write("handmade-repeated-slug.checkpoint", checkpoint([(b"ks", 1), (b"ks", 2)], varint(0)))
    write("handmade-zero-counter.checkpoint", checkpoint([(b"ks", 0)], varint(0)))
    # A signature file whose key is one hex digit short.
    write("handmade-bad-key.signature",
          b'{"checkpoint":"' + b"0" * 64 + b'","format":1,"key":"' + b"f" * 63 + b'","office":"ks","signature":"' + b"0" * 128 + b'"}')


def format_two(one_edit):
    digest = b"\x01" * 8
    # A base of 2^62 entries, dense: bounded by the header, refused before any allocation.
    write("handmade-v2-huge-dense-base.changeset",
          changeset(delta_prefix(digest + varint(1 << 62) + b"\x00" + varint(1) + varint(0)), one_edit, version=2))
    # Runs whose lengths overflow 64 bits.
    write("handmade-v2-runs-overflow.changeset",
          changeset(delta_prefix(digest + varint((1 << 64) - 1) + b"\x01" + varint(2) + varint((1 << 63)) + varint(1)
                                 + varint(1 << 63) + varint(1) + varint(0)), one_edit, version=2))
    # One run of 2^62 entries: decodes without expanding it (a lower bound), and resolves against no base.
    write("handmade-v2-huge-run.changeset",
          changeset(delta_prefix(digest + varint(1 << 62) + b"\x01" + varint(1) + varint(1 << 62) + varint(1) + varint(0)),
                    one_edit, version=2))
    # An unknown mode, and a first changeset written against a base it cannot have.
    write("handmade-v2-unknown-mode.changeset",
          changeset(delta_prefix(digest + varint(1) + b"\x07" + varint(0) + varint(0)), one_edit, version=2))
    write("handmade-v2-sequence-one.changeset",
          changeset(delta_prefix(digest + varint(0) + b"\x00" + varint(0), sequence=1), one_edit, version=2))
    # The author among the added entries.
    write("handmade-v2-author-added.changeset",
          changeset(delta_prefix(digest + varint(0) + b"\x00" + varint(1) + string(b"ks") + varint(1)), one_edit, version=2))


def packs():
    magic = b"SHPK\r\n\x1a\n" + b"\x00\x01" + string(STORE) + string(b"vestland")
    key_and_signature = b"\x00" * 96
    # A count of 2^40 changesets, and one beyond the limit of 4096: refused before any allocation.
    write("handmade-pack-huge-count.pack", magic + varint(1) + varint(1 << 40) + key_and_signature)
    write("handmade-pack-count-over-limit.pack", magic + varint(1) + varint(4097) + varint(1) + b"x" + key_and_signature)
    # One changeset that claims 2^62 bytes.
    write("handmade-pack-huge-member.pack", magic + varint(1) + varint(1) + varint(1 << 62) + key_and_signature)
    # The last number overflows 64 bits.
    write("handmade-pack-range-overflow.pack", magic + varint((1 << 64) - 1) + varint(2) + varint(1) + b"x" + varint(1) + b"y"
          + key_and_signature)
    # Bytes after the signature, and a zero key.
    write("handmade-pack-trailing.pack", magic + varint(1) + varint(1) + varint(1) + b"x" + key_and_signature + b"more")


# The group key Tools/Fuzz seals with (fuzzGroupKey in Encrypted.swift),
# which FuzzRegressionTests decodes with too, and its id (Docs/FORMATS.md, section 15).
GROUP_KEY = b"\x2a" * 32
GROUP_KEY_ID = hashlib.sha256(b"samhand group key 1\n" + GROUP_KEY).digest()[:16]


def seal(plaintext, context):
    """ChaCha20-Poly1305 as Samhand seals a payload: nonce, ciphertext, tag."""
    # Imported here: only these inputs need it (pip install cryptography).
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    nonce = hashlib.sha256(context + plaintext).digest()[:12]
    return nonce + ChaCha20Poly1305(GROUP_KEY).encrypt(nonce, plaintext, context)


def sealed_changeset(flags, key_id, payload_size, sealed):
    """A changeset whose header says sealed: the hash is of the sealed bytes."""
    header = varint(flags) + key_id + header_prefix()[1:]  # the prefix without its flags
    header += varint(payload_size) + varint(len(sealed)) + hashlib.sha256(sealed).digest()
    body = MAGIC + struct.pack(">HI", 1, len(header)) + header + sealed + struct.pack(">I", 1) + b"\x00"
    return body + hashlib.sha256(body).digest()


def encrypted():
    # Key files (keys/<administrator>.keys): a "sealed" of 1 MiB of hex
    # digits, and one a byte short of the 60 bytes a wrapped key takes.
    def key_file(sealed_hex):
        return (b'{"by":"ks","format":1,"store":"' + STORE + b'","wrapped":[{"ephemeral":"' + b"11" * 32
                + b'","key":"' + GROUP_KEY_ID.hex().encode() + b'","office":"ks","recipient":"' + b"22" * 32
                + b'","sealed":"' + sealed_hex + b'"}]}')
    write("handmade-huge-hex.keys", key_file(b"ab" * (512 * 1024)))
    write("handmade-wrong-sealed-length.keys", key_file(b"cd" * 59))
    # Changesets: flags 1 and a header that ends 5 bytes into the key id;
    # flags 3 (bit 1 unknown); a sealed payload of 10 bytes, shorter than a
    # nonce and a tag (28), whose hash and sizes are right.
    header = b"\x01" + GROUP_KEY_ID[:5]
    body = MAGIC + struct.pack(">HI", 1, len(header)) + header + struct.pack(">I", 1) + b"\x00"
    write("handmade-sealed-truncated-key-id.changeset", body + hashlib.sha256(body).digest())
    write("handmade-flags-three.changeset", sealed_changeset(3, GROUP_KEY_ID, 1, b"\x00" * 40))
    write("handmade-sealed-short-payload.changeset", sealed_changeset(1, GROUP_KEY_ID, 1, b"\x00" * 10))
    # A checkpoint sealed with the harness's key that opens to 16 MiB of
    # zeros in ~16 KB of zlib, and says its payload is 1,000 bytes.
    prefix = (varint(1) + GROUP_KEY_ID + string(STORE) + varint(1) + string(b"ks") + varint(1) + varint(1)
              + varint(2 * 1_780_000_000_000) + b"\x00" * 32)
    sealed = seal(zlib.compress(b"\x00" * (16 << 20), 9), b"SHCP\r\n\x1a\n" + b"\x00\x01" + prefix)
    header = prefix + varint(1000) + varint(len(sealed)) + hashlib.sha256(sealed).digest()
    body = b"SHCP\r\n\x1a\n" + struct.pack(">HI", 1, len(header)) + header + sealed
    write("handmade-sealed-zlib-bomb.checkpoint", body + hashlib.sha256(body).digest())


if __name__ == "__main__":
    checkpoints()
    main()
    format_two(varint(1) + touch())
    packs()
    encrypted()
