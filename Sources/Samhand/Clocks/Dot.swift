/// The identity of one write: the replica that made it and its counter.
///
/// Every operation in a changeset carries the changeset's dot, so the counter
/// is the author's changeset sequence number.
public struct Dot: Hashable, Comparable, Sendable, CustomStringConvertible {
  public var replica: ReplicaID
  public var counter: UInt64

  public init(_ replica: ReplicaID, _ counter: UInt64) {
    self.replica = replica
    self.counter = counter
  }

  public var description: String { "\(replica):\(counter)" }

  public static func < (lhs: Dot, rhs: Dot) -> Bool {
    lhs.replica == rhs.replica ? lhs.counter < rhs.counter : lhs.replica < rhs.replica
  }
}
