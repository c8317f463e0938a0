using System.Data;
using System.Text;
using Dapper;
using PhiMailGateway.Storage;
using PhiMailGateway.Storage.Sqlite;

namespace PhiMailGateway.Protection.Pickup;

/// <summary>
/// The Message-ID and subject of the message a pickup package came from, for IT's <c>pickup list</c>
/// on the server (never for logs). The subject is sealed under a key derived from the master key: the
/// database file alone does not show it. The row goes when the package is purged.
/// </summary>
public sealed class PickupLabelStore(GatewayDatabase database, MasterKey masterKey)
{
    private const string Purpose = "pickup-label/v1";
    private readonly byte[] _key = DeriveKey(masterKey);

    public static byte[] DeriveKey(MasterKey masterKey) => masterKey.Derive(Purpose);

    /// <summary>Written in the transaction that creates the package: no extra commit per package.</summary>
    public static Task InsertAsync(IDbConnection connection, IDbTransaction transaction, byte[] key, string packageId, PickupLabel label)
    {
        var sealedSubject = string.IsNullOrEmpty(label.Subject) ? null : PackageCipher.SealSmall(key, Encoding.UTF8.GetBytes(label.Subject), Aad(packageId));
        return connection.ExecuteAsync(
            "INSERT INTO pickup_labels (package_id, message_id, sealed_subject) VALUES (@packageId, @messageId, @sealedSubject)",
            new { packageId, messageId = label.MessageId, sealedSubject }, transaction);
    }

    /// <summary>Labels by package id; a subject that cannot be opened (another master key) reads as null.</summary>
    public async Task<IReadOnlyDictionary<string, PickupLabel>> AllAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string PackageId, string? MessageId, byte[]? SealedSubject)>(new CommandDefinition(
            "SELECT package_id, message_id, sealed_subject FROM pickup_labels", cancellationToken: cancellationToken));
        return rows.ToDictionary(r => r.PackageId, r => new PickupLabel(r.MessageId, Open(r.PackageId, r.SealedSubject)), StringComparer.Ordinal);
    }

    private string? Open(string packageId, byte[]? sealedSubject)
    {
        if (sealedSubject is null) return null;
        try
        {
            return Encoding.UTF8.GetString(PackageCipher.OpenSmall(_key, sealedSubject, Aad(packageId)));
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return null;
        }
    }

    private static string Aad(string packageId) => Purpose + "|" + packageId;
}

public sealed record PickupLabel(string? MessageId, string? Subject);
