// swift-tools-version: 6.1
// A libFuzzer target for every decoder that reads the shared folder:
// changeset files, head files, `samhand.json`, the schema JSON, checkpoints
// and their signature files.
//
// A package of its own, so that neither the library's users nor the main
// build ever see it. Build and run it with `Tools/fuzz.sh [SECONDS]`.
import PackageDescription

let package = Package(
  name: "SamhandFuzz",
  platforms: [.macOS(.v15)],
  dependencies: [
    // The main package. `name:` because a path dependency is otherwise
    // named after its directory, which differs between checkouts.
    .package(name: "Samhand", path: "../.."),
    // Already in the main package's graph: the harness uses its SHA-256 to
    // seal the changeset files it builds.
    .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
  ],
  targets: [
    // zlib's `compress2` and `uncompress`, for the changeset files the
    // harness builds and for the seeds it extracts.
    .systemLibrary(
      name: "FuzzZlib",
      pkgConfig: "zlib",
      providers: [.apt(["zlib1g-dev"])]
    ),
    // No `@main`: libFuzzer provides `main` and calls
    // `LLVMFuzzerTestOneInput`.
    .executableTarget(
      name: "samhand-fuzz",
      dependencies: [
        .product(name: "Samhand", package: "Samhand"),
        "FuzzZlib",
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      path: "Sources/SamhandFuzz"
    ),
  ]
)
