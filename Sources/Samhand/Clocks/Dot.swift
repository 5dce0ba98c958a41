/// The identity of one write: the replica that made it and its counter.
///
/// Every operation in a changeset carries the changeset's dot, so the counter
/// is the author's changeset sequence number.
public struct Dot: Hashable, Comparable, Sendable, CustomStringConvertible {
  /// The replica that made the write.
  public var replica: ReplicaID
  /// The write's counter: the author's changeset sequence number.
  public var counter: UInt64

  /// Creates the dot of a replica's write with the given counter.
  public init(_ replica: ReplicaID, _ counter: UInt64) {
    self.replica = replica
    self.counter = counter
  }

  /// The dot as `replica:counter`, such as `vestland:3`.
  public var description: String { "\(replica):\(counter)" }

  /// Orders dots by replica slug in byte order, then by counter.
  public static func < (lhs: Dot, rhs: Dot) -> Bool {
    lhs.replica == rhs.replica ? lhs.counter < rhs.counter : lhs.replica < rhs.replica
  }
}
