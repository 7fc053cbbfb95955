/// One reading of the simulated machine the dashboard watches: what the tutorial's
/// monitoring example sends (a temperature, an alarm flag, a machine state).
public struct MonitoringReading: Sendable, Hashable {
    public enum MachineState: String, Sendable, CaseIterable {
        case running, idle, maintenance
    }

    /// 1 for the first reading, then one more per reading.
    public var sequence: UInt64
    /// When the reading was taken, in milliseconds since 1970 (the page subtracts it from
    /// its own clock to show the delay).
    public var takenAt: Int64
    public var celsius: Double
    public var alarm: Bool
    public var state: MachineState

    /// `{"seq":12,"t":1700000000123,"celsius":23.4,"alarm":false,"state":"running"}`
    public var json: String {
        let tenths = Int((celsius * 10).rounded())
        let sign = tenths < 0 ? "-" : ""
        let celsiusText = "\(sign)\(abs(tenths) / 10).\(abs(tenths) % 10)"
        return "{\"seq\":\(sequence),\"t\":\(takenAt),\"celsius\":\(celsiusText),\"alarm\":\(alarm),"
            + "\"state\":\"\(state.rawValue)\"}"
    }
}

/// The simulated machine: the temperature drifts around 22 °C, now and then overheats
/// (the alarm goes on above `alarmAbove`), and the machine changes state from time to
/// time. Randomness is passed in, so a test can replay a run.
public struct MonitoringSimulation: Sendable {
    public var alarmAbove = 30.0
    private var celsius = 22.0
    private var heating = false
    private var state = MonitoringReading.MachineState.running
    private var sequence: UInt64 = 0

    public init() {}

    /// The next reading, taken at `now` (milliseconds since 1970).
    public mutating func next(now: Int64, using random: inout some RandomNumberGenerator) -> MonitoringReading {
        sequence += 1
        if Double.random(in: 0..<1, using: &random) < 0.05 { heating.toggle() }
        let drift = heating ? 1.2 : (22.0 - celsius) * 0.2
        celsius += drift + Double.random(in: -0.4...0.4, using: &random)
        if Double.random(in: 0..<1, using: &random) < 0.04 {
            state = MonitoringReading.MachineState.allCases.randomElement(using: &random) ?? .running
        }
        return MonitoringReading(
            sequence: sequence, takenAt: now, celsius: celsius, alarm: celsius > alarmAbove, state: state)
    }
}
