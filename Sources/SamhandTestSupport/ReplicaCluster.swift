import Foundation
import Samhand

/// Replicas of one store, with no shared folder, exchanging changesets by hand.
public final class ReplicaCluster {
  public let directory: TemporaryDirectory
  public let storeID = StoreID.random()
  public private(set) var stores: [ReplicaID: Store] = [:]

  public init(_ replicas: [ReplicaID], label: String = "cluster", schema: Schema = .planning) throws {
    directory = TemporaryDirectory(label)
    for replica in replicas {
      stores[replica] = try Store.create(
        at: directory.path(replica.rawValue), replica: replica, storeID: storeID, schema: schema)
    }
  }

  public subscript(replica: ReplicaID) -> Store { stores[replica]! }

  /// Delivers every changeset `from` holds to `to` (duplicates are no-ops).
  public func deliver(from: ReplicaID, to: ReplicaID) throws {
    for entry in try self[from].history() {
      try self[to].receive(try self[from].changesetBytes(entry.changeset)!)
    }
  }

  /// Delivers everything everywhere.
  public func syncAll() throws {
    for from in stores.keys { for to in stores.keys where from != to { try deliver(from: from, to: to) } }
  }
}
