import Foundation
import Samhand
import SamhandTestSupport
import XCTest

/// The long-life simulation at a small size: with pruning the folder's
/// changeset files stay within the retention and the checkpoint interval,
/// and a new office joining at the end reaches the same state.
final class DecadeTests: XCTestCase {
  func testYearsOfWork_fileCountStaysBoundedAndANewOfficeJoins() throws {
    let directory = TemporaryDirectory("decade")
    var options = DecadeOptions()
    options.years = 3
    options.weeksPerYear = 6
    options.perWeek = 4
    options.offices = 5
    options.retentionDays = 14
    options.checkpointEvery = 40  // two weeks of changesets
    options.minimumLiveCases = 3
    let result = try DecadeSimulation(options, directory: directory.url).run()
    XCTAssertEqual(result.years.count, 3)
    let perWeek = options.offices * options.perWeek
    // Files within the retention (2 weeks), the checkpoint interval (2
    // weeks) and the lag of acknowledgements and pruning (a few weeks).
    let bound = perWeek * (2 + 2 + 4)
    for year in result.years.dropFirst() {
      XCTAssertLessThanOrEqual(year.changesetFiles, bound, "year \(year.year)")
      XCTAssertLessThan(year.files, year.filesWithoutPruning, "year \(year.year)")
    }
    XCTAssertEqual(result.years.last?.changesets, perWeek * options.weeksPerYear * options.years + options.years)
    XCTAssertGreaterThan(result.years.last!.filesWithoutPruning, 2 * bound, "without pruning the folder keeps growing")
    XCTAssertTrue(result.bootstrapAgrees, "the new office reaches KS's frontier and snapshot")
    XCTAssertGreaterThan(result.bootstrapCheckpointCovers, 0, "it started from a checkpoint")
    XCTAssertLessThan(result.bootstrapImported, bound)
    XCTAssertEqual(result.rejected, 0)
    XCTAssertGreaterThan(result.purgedTombstones, 0, "deleted cases every office has seen are purged")
  }
}
