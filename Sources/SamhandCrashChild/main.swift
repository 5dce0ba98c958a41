// A child process for the crash test (Tests/SamhandTests/CrashTests.swift).
//
// Usage: SamhandCrashChild <store-folder> <changeset-folder>
//
// Opens the store and receives every file of the folder one by one, in
// file-name order, as an import would. The test kills it with SIGKILL at
// random moments and starts it again; every run starts from the first file
// (what was applied comes back as duplicates). Progress goes to standard
// output, one line per event, each written with a single unbuffered write
// so that a line is either complete or absent when the process dies:
//
//   open <changesets applied> <changesets waiting>
//   receive <file name>            before a file is handed to the store
//   applied <author>#<sequence>    after `receive` returned: applied now
//   rejected <author>#<sequence>   applied as rejected
//   buffered <author>#<sequence>   waiting for what it depends on
//   duplicate <author>#<sequence>  already known
//   bad <file name> <error code>   not a good changeset: set aside, import goes on
//   done <changesets applied> <changesets waiting>
//
// Exits 0 when every file was handed over, 1 on a storage failure, 2 on a
// usage error.

import Foundation
import Samhand

func say(_ line: String) {
  FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func fail(_ message: String, status: Int32) -> Never {
  FileHandle.standardError.write(Data(("SamhandCrashChild: " + message + "\n").utf8))
  exit(status)
}

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
  fail("usage: SamhandCrashChild <store-folder> <changeset-folder>", status: 2)
}
let storeURL = URL(fileURLWithPath: arguments[1], isDirectory: true)
let folderURL = URL(fileURLWithPath: arguments[2], isDirectory: true)

do {
  let store = try Store.open(at: storeURL)
  say("open \(try store.frontier().total) \(try store.pending().count)")
  let names = try FileManager.default.contentsOfDirectory(atPath: folderURL.path)
    .filter { !$0.hasPrefix(".") }
    .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
  for name in names {
    let url = folderURL.appendingPathComponent(name)
    say("receive \(name)")
    let bytes = [UInt8](try Data(contentsOf: url))
    do {
      let result = try store.receive(bytes, fileURL: url)
      for id in result.applied { say("applied \(id)") }
      for id in result.rejected.keys.sorted() { say("rejected \(id)") }
      for id in result.buffered { say("buffered \(id)") }
      for id in result.duplicates { say("duplicate \(id)") }
    } catch let error as SamhandError where error.code != .storage {
      say("bad \(name) \(error.code)")
    }
  }
  say("done \(try store.frontier().total) \(try store.pending().count)")
} catch {
  fail("\(error)", status: 1)
}
