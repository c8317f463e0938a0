using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace PhiMailGateway.Tests.TestKit;

/// <summary>
/// Keeps every log event the host writes (at the levels its filters let through), so a test can
/// count events by id: <c>services.AddSingleton&lt;ILoggerProvider&gt;(recorder)</c>.
/// </summary>
public sealed class RecordingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<RecordedLogEvent> _events = new();

    public IReadOnlyList<RecordedLogEvent> Events => _events.ToArray();

    public int Count(int eventId) => _events.Count(e => e.EventId == eventId);

    public ILogger CreateLogger(string categoryName) => new Recorder(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Recorder(RecordingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            provider._events.Enqueue(new RecordedLogEvent(category, logLevel, eventId.Id, formatter(state, exception)));
    }
}

public sealed record RecordedLogEvent(string Category, LogLevel Level, int EventId, string Message);
