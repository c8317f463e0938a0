using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace PhiMailGateway.Tests.TestKit;

/// <summary>One log event as the gateway wrote it: its id, level and formatted text.</summary>
public sealed record LoggedEvent(int EventId, LogLevel Level, string Category, string Message);

/// <summary>
/// Keeps every log event of a host (add it with <c>services.AddSingleton&lt;ILoggerProvider&gt;(recorder)</c>),
/// so a test can wait for the event that says the work happened, or count how often it was logged.
/// </summary>
public sealed class RecordingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<LoggedEvent> _events = new();

    public IReadOnlyList<LoggedEvent> Events => _events.ToArray();

    public IEnumerable<LoggedEvent> WithId(int eventId) => _events.Where(e => e.EventId == eventId);

    public int Count(int eventId) => _events.Count(e => e.EventId == eventId);

    public ILogger CreateLogger(string categoryName) => new Recorder(this, categoryName);

    public void Dispose() { }

    private sealed class Recorder(RecordingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._events.Enqueue(new LoggedEvent(eventId.Id, logLevel, category, formatter(state, exception)));
    }
}
