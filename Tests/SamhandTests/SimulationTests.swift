import Foundation
import Samhand
import SamhandTestSupport
import XCTest

/// A fast subset of the simulator (`swift run -c release samhand-sim`):
/// a few seeds at the default size and one run of 50 offices.
/// `SAMHAND_SIM_SEED=N` runs seed N instead of the fixed ones.
final class SimulationTests: XCTestCase {
  private var seeds: [UInt64] {
    if let text = ProcessInfo.processInfo.environment["SAMHAND_SIM_SEED"], let seed = UInt64(text) { return [seed] }
    return [1, 2, 3]
  }

  func testSimulation_thirteenOfficesUnderFaultsConverge() throws {
    for seed in seeds {
      let summary = try Simulation(Simulation.Options(seed: seed, offices: 13, rounds: 6)).run()
      print("SimulationTests \(summary)")
      XCTAssertGreaterThan(summary.acknowledged, 20, "the run did real work")
      XCTAssertGreaterThan(summary.torn + summary.conflictCopies, 0, "the sync tool misbehaved")
      XCTAssertGreaterThan(summary.crashesInWrite + summary.crashesInPublish + summary.crashesInImport, 0)
      XCTAssertGreaterThan(summary.conflictsSeen, 0)
    }
  }

  func testSimulation_checkpointsAndPruningUnderFaults() throws {
    for seed in seeds {
      let summary = try Simulation(Simulation.Options(seed: seed, offices: 13, rounds: 8, longLife: true)).run()
      print("SimulationTests long life \(summary)")
      XCTAssertGreaterThan(summary.acknowledged, 20, "the run did real work")
      XCTAssertGreaterThan(summary.pruned, 0, "files were pruned")
    }
  }

  func testSimulation_fiftyOffices() throws {
    let summary = try Simulation(Simulation.Options(seed: 50, offices: 50, rounds: 2)).run()
    print("SimulationTests \(summary)")
    XCTAssertEqual(summary.offices, 50)
    XCTAssertGreaterThan(summary.acknowledged, 30)
  }

  func testSimulation_theCheckCatchesAnOfficeThatDiffers() throws {
    let simulation = try Simulation(Simulation.Options(seed: 7, offices: 3, rounds: 2))
    _ = try simulation.run()
    // One office writes and never syncs: the check must say so.
    let office = simulation.offices[1]
    try simulation.stores[office]!.transact { try $0.set("cases", "sak-0", "notes", .text("aldri delt")) }
    XCTAssertThrowsError(try simulation.checkConvergence()) { error in
      let failure = error as? Simulation.Failure
      XCTAssertTrue(failure?.message.contains("differs") == true, "\(error)")
      XCTAssertTrue(failure?.replay.contains("--seed 7") == true, "\(error)")
    }
  }
}
