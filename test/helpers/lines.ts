// Reads a child process's output streams line by line, for the helpers that spawn the agent.

/** Calls `onLine` for every line of every stream (a last line without newline included); resolves at their end. */
export function readLines(streams: ReadableStream<Uint8Array>[], onLine: (line: string) => void): Promise<void> {
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of stream) {
      pending += decoder.decode(chunk, { stream: true });
      const parts = pending.split("\n");
      pending = parts.pop()!;
      for (const line of parts) onLine(line);
    }
    if (pending) onLine(pending);
  };
  return Promise.all(streams.map(pump)).then(() => undefined);
}
