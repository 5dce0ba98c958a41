/// The version of Samhand: the library and the `samhand` executable built with it.
///
/// `samhand --version` prints it, `samhand --help` shows it in its first
/// lines, and the `--json` outputs that describe a store carry it as
/// `samhand_version`. It says which program wrote an output; the file
/// formats have version numbers of their own (`Docs/FORMATS.md`), which
/// are what readers check.
public enum SamhandVersion {
  /// The version, as `major.minor.patch` (semantic versioning).
  public static let string = "0.9.0"
}
