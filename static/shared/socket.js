// Socket.IO requests that wait for the server's acknowledgement, alike on
// every page: the same patience, and a connection lost on the way reads as
// an error with the code "network", like any refusal the server sends.
export const ACK_TIMEOUT_MS = 10 * 1000;

export function request(socket, event, payload = {}) {
  return socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload)
    .catch(() => ({ ok: false, error: { code: "network" } }));
}
