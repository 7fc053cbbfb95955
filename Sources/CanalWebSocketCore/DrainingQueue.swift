/// A FIFO queue that holds no storage while empty.
struct DrainingQueue<Element> {
    private var elements: [Element] = []
    private var head = 0

    var isEmpty: Bool { head == elements.count }

    mutating func append(_ element: Element) {
        elements.append(element)
    }

    /// Runs `body` on the first element, in place; nil when the queue is empty.
    mutating func withFirst<Result>(_ body: (inout Element) -> Result) -> Result? {
        guard head < elements.count else { return nil }
        return body(&elements[head])
    }

    mutating func popFirst() -> Element? {
        guard head < elements.count else { return nil }
        let element = elements[head]
        head += 1
        if head == elements.count {
            elements = []
            head = 0
        }
        return element
    }
}
