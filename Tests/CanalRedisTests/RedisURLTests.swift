import CanalRedis
import NIOCore
import Testing

@Suite struct RedisURLTests {
    @Test func urlWithHostOnlyGetsDefaults() throws {
        let url = try RedisURL("redis://cache.internal")
        #expect(url == RedisURL(host: "cache.internal", port: 6379, database: 0, usesTLS: false))
    }

    @Test func urlWithPasswordPortAndDatabase() throws {
        let url = try RedisURL("redis://:s%40cret@127.0.0.1:6380/3")
        #expect(url.password == "s@cret" && url.username == nil && url.port == 6380 && url.database == 3)
    }

    @Test func urlWithUserAndTLS() throws {
        let url = try RedisURL("rediss://app:pw@redis.example.com/")
        #expect(url.usesTLS && url.username == "app" && url.password == "pw" && url.database == 0)
    }

    @Test func urlWithIPv6Host() throws {
        let url = try RedisURL("redis://[::1]:7000/1")
        #expect(url.host == "::1" && url.port == 7000 && url.database == 1)
    }

    @Test func urlWithSingleCredentialTakesItAsPassword() throws {
        #expect(try RedisURL("redis://secret@h").password == "secret")
    }

    @Test(arguments: ["http://h", "redis://", "redis://h:0", "redis://h:99999", "redis://h/x", "redis://h:ab",
                      "redis://[::1", "redis://:%zz@h"])
    func badURLsAreRefusedWithAReason(text: String) {
        #expect(throws: RedisURLError.self) { try RedisURL(text) }
    }

    @Test func descriptionHidesThePassword() throws {
        let url = try RedisURL("redis://user:hunter2@h:1/2")
        #expect(!url.description.contains("hunter2") && url.description == "redis://user:***@h:1/2")
    }

    @Test func backoffDoublesUpToTheMaximumWithJitterBelow() {
        let backoff = RedisBackoff(initial: .milliseconds(100), maximum: .seconds(1), jitter: 0.5)
        #expect(backoff.delay(attempt: 0, random: 0) == .milliseconds(100))
        #expect(backoff.delay(attempt: 1, random: 0) == .milliseconds(200))
        #expect(backoff.delay(attempt: 3, random: 0) == .milliseconds(800))
        #expect(backoff.delay(attempt: 4, random: 0) == .seconds(1))
        #expect(backoff.delay(attempt: 60, random: 0) == .seconds(1))
        #expect(backoff.delay(attempt: 1, random: 1) == .milliseconds(100))
    }
}
