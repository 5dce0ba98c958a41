// MARK: - Codes for typed records

extension SamhandError.Code {
  /// A stored record cannot be read as a typed record: a non-optional
  /// property's field is missing, or a stored value does not fit the
  /// property's type (an integer out of `Int8`'s range, a text that no case
  /// of an enum has).
  ///
  /// A typed record whose properties do not match the schema fails with
  /// ``schemaViolation`` instead.
  public static let decodingFailed = Self(rawValue: "decoding-failed")
}

extension SamhandError {
  /// See ``SamhandError/Code/decodingFailed``.
  public static let decodingFailed = Code.decodingFailed
}
