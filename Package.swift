// swift-tools-version: 6.1
import PackageDescription

let package = Package(
  name: "Samhand",
  platforms: [.macOS(.v15)],
  products: [
    .library(name: "Samhand", targets: ["Samhand"]),
    .executable(name: "samhand", targets: ["SamhandCLI"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
  ],
  targets: [
    .systemLibrary(
      name: "CZlib",
      pkgConfig: "zlib",
      providers: [.apt(["zlib1g-dev"])]
    ),
    .target(
      name: "Samhand",
      dependencies: [
        "CZlib",
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "GRDB", package: "GRDB.swift"),
      ]
    ),
    .executableTarget(
      name: "SamhandCLI",
      dependencies: [
        "Samhand",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    .target(
      name: "SamhandTestSupport",
      dependencies: ["Samhand"]
    ),
    // Figures for the store and replication: `swift run -c release samhand-bench`.
    .executableTarget(
      name: "samhand-bench",
      dependencies: [
        "Samhand", "SamhandTestSupport",
        // Only for `bounds`: SQLite and Ed25519 measured on their own.
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      path: "Tools/SamhandBench"
    ),
    // The deterministic simulator of many offices under faults.
    .executableTarget(
      name: "samhand-sim",
      dependencies: [
        "Samhand", "SamhandTestSupport",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      path: "Tools/SamhandSim"
    ),
    // Ten years of a shared folder, with and without pruning.
    .executableTarget(
      name: "samhand-decade",
      dependencies: [
        "Samhand", "SamhandTestSupport",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      path: "Tools/SamhandDecade"
    ),
    // An example program that uses only the public API (run by .ci/run).
    .executableTarget(
      name: "samhand-example",
      dependencies: ["Samhand"],
      path: "Tools/SamhandExample"
    ),
    // Applies changesets in a child process that the crash test kills.
    .executableTarget(
      name: "SamhandCrashChild",
      dependencies: ["Samhand"]
    ),
    .testTarget(
      name: "SamhandTests",
      dependencies: [
        "Samhand",
        "SamhandTestSupport",
        "SamhandCrashChild",
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "PropertyBased", package: "swift-property-based"),
      ]
    ),
    // End-to-end tests that run the built `samhand` executable.
    .testTarget(
      name: "SamhandCLITests",
      dependencies: [
        "Samhand",
        "SamhandTestSupport",
        "SamhandCLI",
      ]
    ),
  ]
)
