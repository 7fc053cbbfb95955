import Testing

@testable import CanalWebSocketCore

/// The core's event and output queue: first in, first out, however appends and pops
/// interleave.
@Suite
struct DrainingQueueTests {
    @Test
    func emptyQueuePopsNothing() {
        var queue = DrainingQueue<Int>()
        #expect(queue.isEmpty)
        #expect(queue.popFirst() == nil)
    }

    @Test
    func oneElementAtATime() {
        var queue = DrainingQueue<Int>()
        for value in 0..<5 {
            queue.append(value)
            #expect(!queue.isEmpty)
            #expect(queue.popFirst() == value)
            #expect(queue.isEmpty)
        }
    }

    @Test
    func interleavedAppendsAndPopsKeepTheOrder() {
        // A model run against an array: every pattern of appends and pops up to 8 steps.
        for pattern in 0..<(1 << 8) {
            var queue = DrainingQueue<Int>()
            var model: [Int] = []
            var next = 0
            for step in 0..<8 {
                if pattern & (1 << step) != 0 {
                    queue.append(next)
                    model.append(next)
                    next += 1
                } else {
                    #expect(queue.popFirst() == (model.isEmpty ? nil : model.removeFirst()), "pattern \(pattern)")
                }
                #expect(queue.isEmpty == model.isEmpty, "pattern \(pattern)")
            }
            while let value = queue.popFirst() {
                #expect(value == model.removeFirst(), "pattern \(pattern)")
            }
            #expect(model.isEmpty, "pattern \(pattern)")
        }
    }
}
