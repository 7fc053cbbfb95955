// The protocol types (messages, close codes, configuration) are part of this module's API.
@_exported import CanalWebSocketCore
