// The protocol values (SocketIOValue, the JSON writer, the Engine.IO transports and
// configuration) are part of this module's API.
@_exported import CanalEngineIOCore
@_exported import CanalSocketIOCore
