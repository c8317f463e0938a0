using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace PhiMailGateway.Tests.TestKit;

/// <summary>One log event as the gateway wrote it.</summary>
public sealed record RecordedLog(string Category, LogLevel Level, int EventId, string Message);

/// <summary>Keeps every log event of a host in memory, for tests that check what was (or was not) logged.</summary>
public sealed class RecordingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<RecordedLog> _events = new();

    public IReadOnlyList<RecordedLog> Events => [.. _events];

    public ILogger CreateLogger(string categoryName) => new Recorder(categoryName, _events);

    public void Dispose()
    {
    }

    private sealed class Recorder(string category, ConcurrentQueue<RecordedLog> events) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            events.Enqueue(new RecordedLog(category, logLevel, eventId.Id, formatter(state, exception)));
    }
}
