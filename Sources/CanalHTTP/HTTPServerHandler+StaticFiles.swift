import NIOCore
import NIOHTTP1
import NIOPosix

extension HTTPServerHandler {
    /// The chunk size for files read through the thread pool (under TLS).
    static let fileChunkSize = 64 * 1024

    func serveStaticFile(_ path: StaticFilePath, files: HTTPRouter.StaticFiles, exchange: Exchange) {
        guard let context else { return }
        let segments: [String]
        let isDirectoryRequest: Bool
        switch path {
        case .invalid:
            return sendSimple(.badRequest, headers: HTTPHeaders(), exchange: exchange)
        case .hidden:
            return sendSimple(.notFound, headers: HTTPHeaders(), exchange: exchange)
        case .segments(let parts, let directory):
            segments = parts
            isDirectoryRequest = directory
        }
        let lookup = files.lookup
        let indexFiles = files.configuration.indexFiles
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        // realpath, stat and open block: they run on the thread pool.
        shared.threadPool.runIfActive(eventLoop: context.eventLoop) {
            lookup.open(segments: segments, isDirectoryRequest: isDirectoryRequest, indexFiles: indexFiles)
        }.whenComplete { result in
            let handler = bound.value
            guard case .responding(let current) = handler.state, current.id == exchange.id else {
                if case .success(.file(let file)) = result { try? file.handle.close() }
                return
            }
            switch result {
            case .success(.file(let file)):
                handler.sendFile(file, files: files, exchange: exchange)
            case .success(.directoryWithoutSlash):
                handler.redirectToDirectory(exchange: exchange, mountPath: files.mountPath, segments: segments)
            case .success(.notFound):
                handler.sendSimple(.notFound, headers: HTTPHeaders(), exchange: exchange)
            case .failure(let error):
                handler.shared.logger.error("! static file lookup failed: \(error)")
                handler.sendSimple(.internalServerError, headers: HTTPHeaders(), exchange: exchange)
            }
        }
    }

    /// `/docs` names a directory: send the browser to `/docs/` so that relative links in
    /// its index resolve inside it. The location is rebuilt from the checked segments, so
    /// it always starts with a single slash and cannot point to another host (`//evil`).
    private func redirectToDirectory(exchange: Exchange, mountPath: String, segments: [String]) {
        var location = mountPath == "/" ? "" : mountPath
        for segment in segments { location += "/" + Self.percentEncodedSegment(segment) }
        location += "/"
        if let query = RequestTarget(exchange.head.uri).query { location += "?" + query }
        var headers = HTTPHeaders()
        headers.add(name: "Location", value: location)
        sendSimple(.movedPermanently, headers: headers, exchange: exchange)
    }

    private func sendFile(_ file: StaticFileLookup.OpenedFile, files: HTTPRouter.StaticFiles, exchange: Exchange) {
        guard let context else {
            try? file.handle.close()
            return
        }
        let etag = file.etag
        let answer = StaticFileAnswer.decide(
            method: exchange.head.method,
            headers: exchange.head.headers,
            size: file.size,
            etag: etag,
            lastModified: file.modifiedSeconds
        )
        var headers = HTTPHeaders()
        headers.add(name: "ETag", value: etag)
        headers.add(name: "Last-Modified", value: HTTPDate.format(file.modifiedSeconds))
        if let cacheControl = files.configuration.cacheControl {
            headers.add(name: "Cache-Control", value: cacheControl)
        }
        let status: HTTPResponseStatus
        var offset: Int64 = 0
        var length: Int64 = 0
        switch answer {
        case .notModified:
            status = .notModified
        case .preconditionFailed:
            status = .preconditionFailed
        case .rangeNotSatisfiable:
            status = .rangeNotSatisfiable
            headers.add(name: "Content-Range", value: "bytes */\(file.size)")
        case .full:
            status = .ok
            length = file.size
        case .partial(let start, let count):
            status = .partialContent
            offset = start
            length = count
            headers.add(name: "Content-Range", value: "bytes \(start)-\(start + count - 1)/\(file.size)")
        }
        guard status == .ok || status == .partialContent else {
            try? file.handle.close()
            return sendSimple(status, headers: headers, exchange: exchange)
        }
        headers.add(name: "Content-Type", value: MediaTypes.forFileName(file.name))
        headers.add(name: "X-Content-Type-Options", value: "nosniff")
        headers.add(name: "Accept-Ranges", value: "bytes")
        headers.add(name: "Content-Length", value: String(length))
        let keepAlive = exchange.head.isKeepAlive && !quiescing && !inputClosed
        addCommonHeaders(&headers, head: exchange.head, keepAlive: keepAlive)
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: exchange.head.version, status: status, headers: headers))),
            promise: nil
        )
        let handle = file.handle
        guard exchange.head.method == .GET, length > 0 else {
            try? handle.close()
            return finishResponse(exchange: exchange, status: status, bytes: 0, keepAlive: keepAlive)
        }
        if shared.usesFileRegion {
            // sendfile(2): the kernel copies, and the channel writes only as fast as the
            // socket drains, so a slow client costs no memory.
            let region = FileRegion(fileHandle: handle, readerIndex: Int(offset), endIndex: Int(offset + length))
            context.write(wrapOutboundOut(.body(.fileRegion(region))), promise: nil)
            finishResponse(exchange: exchange, status: status, bytes: length, keepAlive: keepAlive) {
                try? handle.close()
            }
            return
        }
        streamChunks(
            handle: handle, offset: offset, length: length, exchange: exchange, status: status, keepAlive: keepAlive)
    }

    /// Reads the file in chunks on the thread pool. The next chunk is read only while the
    /// channel stays writable, or once the previous write has drained.
    private func streamChunks(
        handle: NIOFileHandle,
        offset: Int64,
        length: Int64,
        exchange: Exchange,
        status: HTTPResponseStatus,
        keepAlive: Bool
    ) {
        guard let context else {
            try? handle.close()
            return
        }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        shared.fileIO.readChunked(
            fileHandle: handle,
            fromOffset: offset,
            byteCount: Int(length),
            chunkSize: Self.fileChunkSize,
            allocator: context.channel.allocator,
            eventLoop: eventLoop
        ) { chunk in
            bound.value.writeFileChunk(chunk, exchangeID: exchange.id, eventLoop: eventLoop)
        }.whenComplete { result in
            try? handle.close()
            let handler = bound.value
            guard case .responding(let current) = handler.state, current.id == exchange.id else { return }
            switch result {
            case .success:
                handler.finishResponse(exchange: exchange, status: status, bytes: length, keepAlive: keepAlive)
            case .failure(let error):
                // The head is out: all that is left is to end the connection.
                handler.shared.logger.debug("! file stream aborted: \(error)")
                handler.state = .closing
                handler.context?.close(promise: nil)
            }
        }
    }

    private func writeFileChunk(_ chunk: ByteBuffer, exchangeID: UInt64, eventLoop: EventLoop) -> EventLoopFuture<Void>
    {
        guard let context, case .responding(let current) = state, current.id == exchangeID else {
            return eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
        }
        let written = context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(chunk))))
        return context.channel.isWritable ? context.eventLoop.makeSucceededVoidFuture() : written
    }

    /// Percent-encodes one path segment for a `Location` header (RFC 3986 §3.3 pchar).
    static func percentEncodedSegment(_ segment: String) -> String {
        var output = ""
        for byte in segment.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                output += byte < 16 ? "%0\(hex)" : "%\(hex)"
            }
        }
        return output
    }
}
