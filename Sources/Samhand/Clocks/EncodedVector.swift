/// Version vectors in their stored encoding (`Store.encodeVector`: a count,
/// then each slug and counter in slug byte order), compared without being
/// decoded. With hundreds of offices, every sync meets the frontier of every
/// office's head: walking two sorted byte strings side by side costs no
/// allocation and no hashing, where decoding each into a dictionary cost
/// most of a sync that found nothing new.
package enum EncodedVector {
  /// One entry at a time.
  struct Entries {
    var reader: BinaryReader
    var left: Int

    init(_ bytes: [UInt8]) throws(BinaryReader.Failure) {
      reader = BinaryReader(bytes)
      left = try reader.count(minimumSize: 2)
    }

    mutating func next() throws(BinaryReader.Failure) -> (slug: ArraySlice<UInt8>, counter: UInt64)? {
      guard left > 0 else { return nil }
      left -= 1
      let slug = try reader.take(try reader.count())
      return (slug, try reader.varint())
    }
  }

  static func damaged(_ failure: BinaryReader.Failure) -> SamhandError {
    SamhandError(.storage, "a stored version vector is damaged: \(failure.message)")
  }

  /// The entry of each replica in both, at the lower counter.
  package static func meet(_ lhs: [UInt8], _ rhs: [UInt8]) throws -> [UInt8] {
    do throws(BinaryReader.Failure) {
      var a = try Entries(lhs), b = try Entries(rhs)
      var body = BinaryWriter()
      var count: UInt64 = 0
      var x = try a.next(), y = try b.next()
      while let left = x, let right = y {
        if left.slug.elementsEqual(right.slug) {
          body.varint(UInt64(left.slug.count))
          body.raw(left.slug)
          body.varint(Swift.min(left.counter, right.counter))
          count += 1
          x = try a.next()
          y = try b.next()
        } else if left.slug.lexicographicallyPrecedes(right.slug) {
          x = try a.next()
        } else {
          y = try b.next()
        }
      }
      var result = BinaryWriter()
      result.varint(count)
      result.raw(body.bytes)
      return result.bytes
    } catch {
      throw damaged(error)
    }
  }

  /// Whether every entry of `lhs` is at most the entry of `rhs`.
  package static func isIncluded(_ lhs: [UInt8], in rhs: [UInt8]) throws -> Bool {
    do throws(BinaryReader.Failure) {
      var a = try Entries(lhs), b = try Entries(rhs)
      var y = try b.next()
      while let left = try a.next() {
        guard left.counter > 0 else { continue }
        while let right = y, right.slug.lexicographicallyPrecedes(left.slug) { y = try b.next() }
        guard let right = y, right.slug.elementsEqual(left.slug), right.counter >= left.counter else { return false }
      }
      return true
    } catch {
      throw damaged(error)
    }
  }

  /// The counter of one replica, zero when it has no entry.
  package static func counter(of replica: ReplicaID, in bytes: [UInt8]) throws -> UInt64 {
    do throws(BinaryReader.Failure) {
      var entries = try Entries(bytes)
      let slug = Array(replica.rawValue.utf8)
      while let entry = try entries.next(), !slug.lexicographicallyPrecedes(entry.slug) {
        if entry.slug.elementsEqual(slug) { return entry.counter }
      }
      return 0
    } catch {
      throw damaged(error)
    }
  }
}
