import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds and opens files below one folder, never outside it. It blocks, so it runs on a
/// thread pool, never on an event loop.
///
/// Every candidate goes through `realpath(3)`, which resolves symbolic links and `..`,
/// and must then lie inside the folder's own real path. The file is opened with
/// `O_NOFOLLOW` (its real path has no link left) and `O_NONBLOCK` (a FIFO planted in the
/// folder must not hang the pool), then checked with `fstat` to be a regular file.
struct StaticFileLookup: Sendable {
    /// The folder's real path, without a trailing slash (except for `/` itself).
    let root: String

    /// Resolves the folder. Throws when it does not exist or is not a directory.
    init(directory: String) throws {
        guard let real = Self.realPath(directory) else {
            throw StaticFilesError(description: "static folder \(directory) does not exist")
        }
        var info = stat()
        guard stat(real, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw StaticFilesError(description: "static folder \(directory) is not a directory")
        }
        self.root = real
    }

    enum Outcome {
        case file(OpenedFile)
        /// A directory named without its trailing slash: redirect so relative links work.
        case directoryWithoutSlash
        case notFound
    }

    /// An open regular file. The caller owns `handle` and must close it.
    struct OpenedFile: Sendable {
        var handle: NIOFileHandle
        var size: Int64
        /// Modification time, seconds and nanoseconds since the epoch.
        var modifiedSeconds: Int
        var modifiedNanoseconds: Int
        /// The name the media type is taken from (the index file's, for a directory).
        var name: String

        /// A strong validator: it changes whenever the size or the modification time does.
        var etag: String {
            "\"\(String(modifiedSeconds, radix: 16))-\(String(modifiedNanoseconds, radix: 16))-\(String(size, radix: 16))\""
        }
    }

    func open(segments: [String], isDirectoryRequest: Bool, indexFiles: [String]) -> Outcome {
        let candidate = segments.isEmpty ? root : root + "/" + segments.joined(separator: "/")
        guard let real = contained(candidate) else { return .notFound }
        var info = stat()
        guard stat(real, &info) == 0 else { return .notFound }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            // `/file.txt/` names a directory that is not there.
            if isDirectoryRequest { return .notFound }
            return openRegular(real, name: segments.last ?? "")
        case S_IFDIR:
            guard isDirectoryRequest || segments.isEmpty else { return .directoryWithoutSlash }
            for index in indexFiles {
                guard let indexReal = contained(real + "/" + index) else { continue }
                if case .file(let file) = openRegular(indexReal, name: index) { return .file(file) }
            }
            return .notFound
        default:
            return .notFound
        }
    }

    /// The real path of `path` if it exists and lies inside the folder.
    private func contained(_ path: String) -> String? {
        guard let real = Self.realPath(path) else { return nil }
        if real == root { return real }
        let prefix = root == "/" ? "/" : root + "/"
        return real.hasPrefix(prefix) ? real : nil
    }

    private func openRegular(_ path: String, name: String) -> Outcome {
        let descriptor = systemOpen(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard descriptor >= 0 else { return .notFound }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            return .notFound
        }
        return .file(
            OpenedFile(
                handle: NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: descriptor),
                size: Int64(info.st_size),
                modifiedSeconds: Int(info.modificationTime.tv_sec),
                modifiedNanoseconds: Int(info.modificationTime.tv_nsec),
                name: name
            )
        )
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// The static folder could not be used.
public struct StaticFilesError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(description: String) {
        self.description = description
    }
}

private func systemOpen(_ path: String, _ flags: CInt) -> CInt {
    #if canImport(Darwin)
    Darwin.open(path, flags)
    #elseif canImport(Musl)
    Musl.open(path, flags)
    #else
    Glibc.open(path, flags)
    #endif
}

extension stat {
    fileprivate var modificationTime: timespec {
        #if canImport(Darwin)
        st_mtimespec
        #else
        st_mtim
        #endif
    }
}
