using Microsoft.Extensions.Options;
using Npgsql;

namespace PhiMailGateway.Configuration;

public enum StorageProvider
{
    /// <summary><c>&lt;data&gt;/gateway.db</c>: one gateway, nothing to set up (the embedded default).</summary>
    Sqlite,

    /// <summary>One PostgreSQL database shared by every gateway instance of the organisation.</summary>
    PostgreSql,
}

/// <summary>Section <c>Storage</c>: which database holds the queue, the audit chain and the other shared state.</summary>
public sealed record StorageOptions
{
    public const string Section = "Storage";

    public StorageProvider Provider { get; init; } = StorageProvider.Sqlite;

    /// <summary>
    /// An Npgsql connection string, for <see cref="StorageProvider.PostgreSql"/>. It carries the
    /// database password, so it is read from the environment only (<c>Storage__ConnectionString</c>).
    /// </summary>
    public string? ConnectionString { get; init; }

    /// <summary>
    /// How long a claimed queue item stays with the instance that claimed it: an instance that dies
    /// holds its work this long at most before another takes it over. Longer than any one
    /// processing or relay attempt, or a slow attempt would be started a second time elsewhere.
    /// </summary>
    public TimeSpan LeaseTime { get; init; } = TimeSpan.FromMinutes(5);
}

public sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions o)
    {
        var errors = new List<string>();
        if (!Enum.IsDefined(o.Provider)) errors.Add($"Storage:Provider: must be Sqlite or PostgreSql (got {o.Provider}).");
        if (o.Provider == StorageProvider.PostgreSql)
        {
            if (string.IsNullOrWhiteSpace(o.ConnectionString))
                errors.Add("Storage:ConnectionString: required when Storage:Provider is PostgreSql; set it in the environment as Storage__ConnectionString.");
            else if (ConnectionStringError(o.ConnectionString) is { } error)
                errors.Add($"Storage:ConnectionString: {error}");
        }
        if (o.LeaseTime < TimeSpan.FromSeconds(10) || o.LeaseTime > TimeSpan.FromHours(24))
            errors.Add($"Storage:LeaseTime: must be between 00:00:10 and 24:00:00 (got {o.LeaseTime}).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>What is wrong with the connection string, in words that never repeat it (it holds a password).</summary>
    private static string? ConnectionStringError(string connectionString)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException e)
        {
            // Npgsql's message names the keyword it did not know, never a value.
            return $"not an Npgsql connection string such as Host=db.example;Database=phimail;Username=phimail ({e.Message.Split('\n')[0].TrimEnd()}).";
        }
        if (string.IsNullOrWhiteSpace(builder.Host)) return "names no Host.";
        if (string.IsNullOrWhiteSpace(builder.Database)) return "names no Database.";
        return null;
    }
}
