import Foundation

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif
#if canImport(FoundationXML)
  import FoundationXML
#endif

/// The exchange as a WebDAV collection on a server (SharePoint, OneDrive
/// for Business, Nextcloud, Apache `mod_dav`), reached over HTTPS with no
/// sync client on the machine.
///
/// The layout maps one to one: the shared folder is a collection, its
/// folders are collections, its files are resources with the same names
/// and bytes (`Docs/FORMATS.md`, "The exchange"). Requests:
///
/// | Method | Request |
/// | --- | --- |
/// | ``list(_:)`` | `PROPFIND`, `Depth: 1` (type, size, last modified) |
/// | ``read(_:kind:prefix:)`` | `GET` with `Range: bytes=0-<limit>`, so no more than the kind's limit is fetched |
/// | ``create(_:_:)`` | `PUT` with `If-None-Match: *` (`412`: the name is taken); `MKCOL` for missing folders |
/// | ``replace(_:_:)`` | `PUT` to a temporary name, then `MOVE` with `Overwrite: T` |
/// | ``delete(_:)`` | `DELETE` (`404` is not an error) |
///
/// Credentials come from the environment (`SAMHAND_DAV_USER`,
/// `SAMHAND_DAV_PASSWORD`) or from a netrc file (`$NETRC`, else `~/.netrc`),
/// never from the URL; they are sent as HTTP basic authentication and never
/// appear in messages, logs or the store. Plain `http` is accepted only for
/// the loopback address (tests). Each request times out after
/// ``requestTimeout`` seconds; connection errors and `5xx` answers (but
/// `507`) are retried with growing pauses, up to ``attempts`` tries.
public struct WebDAVFolder: Exchange {
  /// The collection's URL, ending in `/`, without credentials.
  public let url: URL
  /// Why the URL cannot be used, reported at the first request.
  let problem: String?
  let credentials: Credentials?
  /// Seconds one request may take.
  public var requestTimeout: TimeInterval = 30
  /// Tries per request, for connection errors and `5xx` answers.
  public var attempts = 4

  /// A user name and password for HTTP basic authentication.
  public struct Credentials: Sendable, Hashable {
    public var user: String
    public var password: String

    public init(user: String, password: String) {
      self.user = user
      self.password = password
    }

    /// `SAMHAND_DAV_USER` and `SAMHAND_DAV_PASSWORD`, else the netrc
    /// entry for `host` (or its `default`), else nil.
    public static func find(for host: String, environment: [String: String] = ProcessInfo.processInfo.environment)
      -> Credentials?
    {
      if let user = environment["SAMHAND_DAV_USER"], let password = environment["SAMHAND_DAV_PASSWORD"] {
        return Credentials(user: user, password: password)
      }
      let path =
        environment["NETRC"]
        ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".netrc").path
      guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
      return netrc(text, host: host)
    }

    /// The entry for `host` in a netrc file's text (`machine`, `login`,
    /// `password`; `default` when no machine matches).
    static func netrc(_ text: String, host: String) -> Credentials? {
      let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }).map(String.init)
      var entries: [(machine: String?, login: String?, password: String?)] = []
      var index = 0
      while index < words.count {
        switch words[index] {
        case "machine" where index + 1 < words.count:
          entries.append((words[index + 1], nil, nil))
          index += 1
        case "default":
          entries.append((nil, nil, nil))
        case "login" where index + 1 < words.count && !entries.isEmpty:
          entries[entries.count - 1].login = words[index + 1]
          index += 1
        case "password" where index + 1 < words.count && !entries.isEmpty:
          entries[entries.count - 1].password = words[index + 1]
          index += 1
        default: break
        }
        index += 1
      }
      let entry = entries.first { $0.machine == host } ?? entries.first { $0.machine == nil }
      guard let entry, let login = entry.login, let password = entry.password else { return nil }
      return Credentials(user: login, password: password)
    }
  }

  /// The collection at `url` (`https://HOST/PATH/`, or `http://` to the
  /// loopback address), with credentials found as ``Credentials/find(for:environment:)`` says.
  public init(_ url: URL, credentials: Credentials?? = .none) {
    var text = url.absoluteString
    if !text.hasSuffix("/") { text += "/" }
    let normal = URL(string: text) ?? url
    self.url = normal
    let host = normal.host ?? ""
    self.credentials = credentials ?? Credentials.find(for: host)
    if url.user != nil || url.password != nil {
      problem =
        "put no user name or password in the folder's URL; set SAMHAND_DAV_USER and SAMHAND_DAV_PASSWORD, or a netrc entry for \(host)"
    } else if normal.scheme == "http" && !WebDAVFolder.isLoopback(host) {
      problem = "plain http is only for the loopback address (tests); use https://\(host)\(normal.path)"
    } else if normal.scheme != "http" && normal.scheme != "https" {
      problem = "a folder URL starts with https:// (or http:// on the loopback address)"
    } else if host.isEmpty {
      problem = "the folder's URL names no server"
    } else {
      problem = nil
    }
  }

  package static func isLoopback(_ host: String) -> Bool {
    host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
  }

  func resource(_ path: String, folder: Bool = false) -> URL {
    guard !path.isEmpty else { return url }
    let encoded = path.split(separator: "/").map {
      $0.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? String($0)
    }.joined(separator: "/")
    return URL(string: encoded + (folder ? "/" : ""), relativeTo: url)!.absoluteURL
  }

  // MARK: - The five operations

  public func list(_ directory: String) throws -> [ExchangeItem]? {
    let target = resource(directory, folder: true)
    let body = Data(
      #"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getcontentlength/><D:getlastmodified/><D:getetag/></D:prop></D:propfind>"#
        .utf8)
    let answer = try send("PROPFIND", target, headers: ["Depth": "1", "Content-Type": "application/xml"], body: body)
    switch answer.status {
    case 207: break
    case 404: return nil
    default: throw failure(answer.status, "list", target)
    }
    let found = MultiStatus.parse(answer.data)
    let own = target.path.hasSuffix("/") ? target.path : target.path + "/"
    var items: [ExchangeItem] = []
    var sawSelf = false
    for response in found {
      let path = response.path.hasSuffix("/") ? response.path : response.path + "/"
      if path == own {
        sawSelf = true
        if !response.isCollection {
          throw SamhandError(.unsafeFile, "\(target.lastPathComponent) is a file, not a folder", fileURL: target)
        }
        continue
      }
      guard let name = response.path.split(separator: "/").last.map(String.init), !name.isEmpty else { continue }
      items.append(
        ExchangeItem(
          name: name, type: response.isCollection ? .directory : .regular, size: response.size ?? 0,
          modified: response.modified ?? 0, tag: response.tag))
    }
    if !sawSelf && found.count == 1 && !(found.first?.isCollection ?? true) {
      throw SamhandError(.unsafeFile, "\(target.lastPathComponent) is a file, not a folder", fileURL: target)
    }
    return items
  }

  public func read(_ path: String, kind: FolderFileKind, prefix: Int?) throws -> [UInt8]? {
    let target = resource(path)
    // One byte past the limit at most: a larger file is refused unread.
    let last = prefix.map { max(0, $0 - 1) } ?? kind.limit
    let answer = try send("GET", target, headers: ["Range": "bytes=0-\(last)"])
    switch answer.status {
    case 200, 206: break
    case 404: return nil
    case 416: return []  // an empty file: no byte 0
    default: throw failure(answer.status, "read", target)
    }
    var bytes = [UInt8](answer.data)
    if let prefix {
      if bytes.count > prefix { bytes.removeLast(bytes.count - prefix) }
      return bytes
    }
    guard bytes.count <= kind.limit else {
      throw SamhandError(
        .tooLarge, "over the limit of \(kind.limit) bytes for \(kind.noun): not read", fileURL: target)
    }
    return bytes
  }

  public func create(_ path: String, _ bytes: [UInt8]) throws -> Bool {
    let target = resource(path)
    var answer = try put(target, bytes, headers: ["If-None-Match": "*"], path: path)
    if answer.status == 412, answer.retried {
      // Perhaps our own first try, whose answer was lost: the same bytes are ours.
      answer.status = (try? read(path, kind: .changeset, prefix: nil)) == bytes ? 201 : 412
    }
    switch answer.status {
    case 200, 201, 204: return true
    case 412: return false
    default: throw failure(answer.status, "create", target)
    }
  }

  public func replace(_ path: String, _ bytes: [UInt8]) throws {
    let target = resource(path)
    let parent = path.split(separator: "/").dropLast().joined(separator: "/")
    let name = path.split(separator: "/").last.map(String.init) ?? path
    let temporaryPath =
      (parent.isEmpty ? "" : parent + "/")
      + "\(AtomicFile.temporaryPrefix)\(name).\(UUID().uuidString.prefix(8).lowercased())\(AtomicFile.temporarySuffix)"
    let temporary = resource(temporaryPath)
    let written = try put(temporary, bytes, headers: [:], path: temporaryPath)
    guard [200, 201, 204].contains(written.status) else { throw failure(written.status, "write", temporary) }
    let moved = try send("MOVE", temporary, headers: ["Destination": target.absoluteString, "Overwrite": "T"])
    guard [201, 204].contains(moved.status) else {
      _ = try? send("DELETE", temporary, headers: [:])
      throw failure(moved.status, "replace", target)
    }
  }

  public func delete(_ path: String) throws {
    let target = resource(path)
    let answer = try send("DELETE", target, headers: [:])
    guard [200, 204, 404].contains(answer.status) else { throw failure(answer.status, "delete", target) }
  }

  // MARK: - Requests

  struct Answer {
    var status: Int
    var data: Data
    /// Whether an earlier try of the same request may have reached the server.
    var retried: Bool
  }

  /// A PUT, making the folders above it (MKCOL) when the server says they are missing.
  private func put(_ target: URL, _ bytes: [UInt8], headers: [String: String], path: String) throws -> Answer {
    var answer = try send("PUT", target, headers: headers, body: Data(bytes))
    if answer.status == 409 || answer.status == 404 {
      try makeFolders(above: path)
      answer = try send("PUT", target, headers: headers, body: Data(bytes))
    }
    return answer
  }

  private func makeFolders(above path: String) throws {
    let names = path.split(separator: "/").dropLast()
    // The collection itself first (a new shared folder), then those inside it.
    let top = try send("MKCOL", url, headers: [:])
    guard [201, 405].contains(top.status) else { throw failure(top.status, "create the folder", url) }
    var prefix = ""
    for name in names {
      prefix += (prefix.isEmpty ? "" : "/") + name
      let folder = resource(prefix, folder: true)
      let answer = try send("MKCOL", folder, headers: [:])
      // 405: already there.
      guard [201, 405].contains(answer.status) else { throw failure(answer.status, "create the folder", folder) }
    }
  }

  private func failure(_ status: Int, _ what: String, _ target: URL) -> SamhandError {
    let reason: String
    switch status {
    case 401:
      reason = "the server refused the credentials (401 Unauthorized): set SAMHAND_DAV_USER and SAMHAND_DAV_PASSWORD, or a netrc entry for \(url.host ?? "the server")"
    case 403: reason = "not allowed (403 Forbidden): the account may not \(what) there"
    case 404: reason = "not found (404): is the folder's URL right?"
    case 405: reason = "the server does not allow this (405): is WebDAV enabled for this URL?"
    case 507: reason = "the server has no space left (507 Insufficient Storage)"
    default: reason = "the server answered \(status) \(HTTPURLResponse.localizedString(forStatusCode: status))"
    }
    return SamhandError(.io, "cannot \(what) \(target.absoluteString): \(reason)", fileURL: target)
  }

  /// Sends one request, retrying connection errors and 5xx answers (but
  /// 507) with pauses of 0.2, 0.4, 0.8 … seconds.
  func send(_ method: String, _ target: URL, headers: [String: String], body: Data? = nil) throws -> Answer {
    if let problem { throw SamhandError(.invalidArgument, "\(url.absoluteString): \(problem)", fileURL: url) }
    var request = URLRequest(url: target, timeoutInterval: requestTimeout)
    request.httpMethod = method
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    if let credentials {
      let token = Data("\(credentials.user):\(credentials.password)".utf8).base64EncodedString()
      request.setValue("Basic \(token)", forHTTPHeaderField: "Authorization")
    }
    request.httpBody = body
    var pause = 0.2
    var lastError = ""
    for attempt in 1...max(1, attempts) {
      let result = WebDAVFolder.perform(request, timeout: requestTimeout)
      switch result {
      case .answer(let status, let data):
        if status >= 500 && status != 507 && attempt < attempts {
          lastError = "the server answered \(status)"
        } else {
          return Answer(status: status, data: data, retried: attempt > 1)
        }
      case .failed(let reason):
        lastError = reason
      }
      if attempt < attempts {
        Thread.sleep(forTimeInterval: pause)
        pause *= 2
      }
    }
    throw SamhandError(
      .io, "cannot reach \(target.absoluteString) (\(method)): \(lastError), after \(attempts) tries", fileURL: target)
  }

  private enum Result {
    case answer(Int, Data)
    case failed(String)
  }

  /// The session every folder shares: no cookies, no cache, no credentials stored.
  private static let session: URLSession = {
    let configuration = URLSessionConfiguration.ephemeral
    configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
    configuration.urlCache = nil
    configuration.httpCookieStorage = nil
    configuration.urlCredentialStorage = nil
    return URLSession(configuration: configuration, delegate: Refusals.shared, delegateQueue: nil)
  }()

  /// Answers a server's request for credentials by refusing it: the
  /// credentials are sent with every request, so a challenge means they are
  /// wrong or missing, and the request ends as a 401 at once (waiting for
  /// credentials would hang the request).
  private final class Refusals: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    static let shared = Refusals()
    private let lock = NSLock()
    private var refused = Set<Int>()

    func urlSession(
      _ session: URLSession, task: URLSessionTask, didReceive challenge: URLAuthenticationChallenge,
      completionHandler: @escaping (URLSession.AuthChallengeDisposition, URLCredential?) -> Void
    ) {
      lock.withLock { _ = refused.insert(task.taskIdentifier) }
      completionHandler(.cancelAuthenticationChallenge, nil)
    }

    /// Whether the task's request for credentials was refused (and forgets it).
    func wasRefused(_ task: URLSessionTask) -> Bool {
      lock.withLock { refused.remove(task.taskIdentifier) != nil }
    }
  }

  private final class Box: @unchecked Sendable {
    var result: Result = .failed("no answer")
    var task: URLSessionDataTask?
  }

  private static func perform(_ request: URLRequest, timeout: TimeInterval) -> Result {
    let box = Box()
    let done = DispatchSemaphore(value: 0)
    let task = session.dataTask(with: request) { data, response, error in
      if let task = box.task, Refusals.shared.wasRefused(task) {
        box.result = .answer(401, Data())
      } else if let error {
        box.result = .failed(error.localizedDescription)
      } else if let response = response as? HTTPURLResponse {
        box.result = .answer(response.statusCode, data ?? Data())
      }
      done.signal()
    }
    box.task = task
    task.resume()
    if done.wait(timeout: .now() + timeout + 5) == .timedOut {
      task.cancel()
      return .failed("no answer within \(Int(timeout)) seconds")
    }
    return box.result
  }
}

// MARK: - PROPFIND answers

/// The parts of a `207 Multi-Status` answer that listing needs.
struct MultiStatus {
  struct Response {
    var path = ""
    var isCollection = false
    var size: Int64?
    /// Microseconds since 1970.
    var modified: Int64?
    /// The entity tag, when the server gives one.
    var tag: String?
  }

  static func parse(_ data: Data) -> [Response] {
    let reader = Reader()
    let parser = XMLParser(data: data)
    parser.shouldProcessNamespaces = true
    parser.delegate = reader
    _ = parser.parse()
    return reader.responses
  }

  private final class Reader: NSObject, XMLParserDelegate {
    var responses: [Response] = []
    var current: Response?
    var text = ""

    static let dates: DateFormatter = {
      let formatter = DateFormatter()
      formatter.locale = Locale(identifier: "en_US_POSIX")
      formatter.timeZone = TimeZone(identifier: "GMT")
      formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
      return formatter
    }()

    func parser(
      _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
      attributes: [String: String] = [:]
    ) {
      text = ""
      switch elementName {
      case "response": current = Response()
      case "collection": current?.isCollection = true
      default: break
      }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
      let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
      switch elementName {
      case "href":
        current?.path = URL(string: value)?.path ?? value.removingPercentEncoding ?? value
      case "getcontentlength": current?.size = Int64(value)
      case "getetag": current?.tag = value.isEmpty ? nil : value
      case "getlastmodified":
        if let date = Reader.dates.date(from: value) { current?.modified = Int64(date.timeIntervalSince1970 * 1_000_000) }
      case "response":
        if let current { responses.append(current) }
        current = nil
      default: break
      }
      text = ""
    }
  }
}
