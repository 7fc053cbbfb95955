/// How a folder of static files is served (the `public/` folder of an express app).
public struct StaticFilesConfiguration: Sendable, Hashable {
    /// Files tried, in order, for a request naming a directory with a trailing slash.
    public var indexFiles: [String]
    /// Serve files and folders whose names start with a dot (`.env`, `.git/`). Off by
    /// default: such names answer 404.
    public var servesDotfiles: Bool
    /// `Cache-Control` sent with every file. The default makes browsers revalidate each
    /// time, which costs a 304 when nothing changed.
    public var cacheControl: String?

    public init(indexFiles: [String] = ["index.html"], servesDotfiles: Bool = false, cacheControl: String? = "no-cache")
    {
        self.indexFiles = indexFiles
        self.servesDotfiles = servesDotfiles
        self.cacheControl = cacheControl
    }
}
