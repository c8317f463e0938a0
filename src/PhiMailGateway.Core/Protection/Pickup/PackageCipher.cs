using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace PhiMailGateway.Protection.Pickup;

/// <summary>
/// Chunked AES-256-GCM for package files, so a 200 MB X-ray series never sits whole in memory and
/// every 64 KiB is authenticated before a byte of it is released.
/// <para>File layout: <c>"PMGPKG1\n"</c>, chunk size (uint32 BE), an 8-byte random nonce prefix, then
/// chunks of ciphertext + 16-byte tag. The nonce of chunk i is prefix || i (uint32 BE): unique per
/// file and key without any state. The associated data binds each chunk to its package, file and
/// position and carries a final-chunk flag: cutting the file at a chunk boundary or swapping files
/// between packages fails authentication. The writer always ends with a final chunk (empty when the
/// length is a multiple of the chunk size), so an empty tail is detectable too.</para>
/// </summary>
public static class PackageCipher
{
    public const int ChunkSize = 64 * 1024;
    public const int TagSize = 16;
    public const int NonceSize = 12;
    public const int KeySize = 32;
    private const int PrefixSize = 8;
    private static readonly byte[] Magic = "PMGPKG1\n"u8.ToArray();
    public static readonly int HeaderSize = Magic.Length + 4 + PrefixSize;

    /// <summary>Encrypts <paramref name="plaintext"/> into <paramref name="output"/>; returns the plaintext length and SHA-256 (hex).</summary>
    public static async Task<(long Length, string Sha256)> EncryptAsync(Stream plaintext, Stream output, byte[] key, string associatedData, CancellationToken cancellationToken)
    {
        var prefix = RandomNumberGenerator.GetBytes(PrefixSize);
        var header = new byte[HeaderSize];
        Magic.CopyTo(header, 0);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(Magic.Length), ChunkSize);
        prefix.CopyTo(header, Magic.Length + 4);
        await output.WriteAsync(header, cancellationToken);

        using var aes = new AesGcm(key, TagSize);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var ad = Encoding.UTF8.GetBytes(associatedData);
        var current = new byte[ChunkSize];
        var next = new byte[ChunkSize];
        var sealedChunk = new byte[ChunkSize + TagSize];
        long length = 0;
        uint index = 0;
        var filled = await FillAsync(plaintext, current, cancellationToken);
        while (true)
        {
            var final = filled < ChunkSize;
            var nextFilled = 0;
            if (!final)
            {
                // Hold the full chunk back until we know whether anything follows it.
                nextFilled = await FillAsync(plaintext, next, cancellationToken);
                final = nextFilled == 0;
            }
            Seal(aes, prefix, index, ad, final, current.AsSpan(0, filled), sealedChunk);
            hash.AppendData(current, 0, filled);
            await output.WriteAsync(sealedChunk.AsMemory(0, filled + TagSize), cancellationToken);
            length += filled;
            if (final) break;
            index = checked(index + 1);
            (current, next) = (next, current);
            filled = nextFilled;
        }
        CryptographicOperations.ZeroMemory(current);
        CryptographicOperations.ZeroMemory(next);
        return (length, Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant());
    }

    private static void Seal(AesGcm aes, byte[] prefix, uint index, byte[] ad, bool final, ReadOnlySpan<byte> plain, byte[] output)
    {
        Span<byte> nonce = stackalloc byte[NonceSize];
        Nonce(prefix, index, nonce);
        var aad = ChunkAad(ad, index, final);
        aes.Encrypt(nonce, plain, output.AsSpan(0, plain.Length), output.AsSpan(plain.Length, TagSize), aad);
    }

    internal static void Nonce(ReadOnlySpan<byte> prefix, uint index, Span<byte> nonce)
    {
        prefix.CopyTo(nonce);
        BinaryPrimitives.WriteUInt32BigEndian(nonce[PrefixSize..], index);
    }

    internal static byte[] ChunkAad(byte[] ad, uint index, bool final)
    {
        var aad = new byte[ad.Length + 5];
        ad.CopyTo(aad, 0);
        BinaryPrimitives.WriteUInt32BigEndian(aad.AsSpan(ad.Length), index);
        aad[^1] = final ? (byte)1 : (byte)0;
        return aad;
    }

    private static async Task<int> FillAsync(Stream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken);
            if (read == 0) break;
            total += read;
        }
        return total;
    }

    /// <summary>Opens an encrypted file for reading as plaintext (see <see cref="PackageDecryptStream"/>).</summary>
    public static PackageDecryptStream OpenRead(string path, byte[] key, string associatedData)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        try
        {
            return new PackageDecryptStream(file, key, Encoding.UTF8.GetBytes(associatedData));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Small values (file names, the package key) sealed in one piece: nonce || ciphertext || tag.</summary>
    public static byte[] SealSmall(byte[] key, ReadOnlySpan<byte> plaintext, string associatedData)
    {
        var result = new byte[NonceSize + plaintext.Length + TagSize];
        RandomNumberGenerator.Fill(result.AsSpan(0, NonceSize));
        using var aes = new AesGcm(key, TagSize);
        aes.Encrypt(result.AsSpan(0, NonceSize), plaintext, result.AsSpan(NonceSize, plaintext.Length), result.AsSpan(NonceSize + plaintext.Length), Encoding.UTF8.GetBytes(associatedData));
        return result;
    }

    public static byte[] OpenSmall(byte[] key, ReadOnlySpan<byte> sealedValue, string associatedData)
    {
        if (sealedValue.Length < NonceSize + TagSize) throw new CryptographicException("Sealed value too short.");
        var length = sealedValue.Length - NonceSize - TagSize;
        var result = new byte[length];
        using var aes = new AesGcm(key, TagSize);
        aes.Decrypt(sealedValue[..NonceSize], sealedValue.Slice(NonceSize, length), sealedValue[(NonceSize + length)..], result, Encoding.UTF8.GetBytes(associatedData));
        return result;
    }
}

/// <summary>
/// Read-only plaintext view of an encrypted package file. Each chunk is authenticated before any of
/// it is returned; a tampered or truncated file throws <see cref="CryptographicException"/> at the
/// chunk that fails, so at most the authentic chunks before it were ever released.
/// </summary>
public sealed class PackageDecryptStream : Stream
{
    private readonly FileStream _file;
    private readonly AesGcm _aes;
    private readonly byte[] _ad;
    private readonly byte[] _prefix = new byte[8];
    private readonly byte[] _sealed = new byte[PackageCipher.ChunkSize + PackageCipher.TagSize];
    private readonly byte[] _plain = new byte[PackageCipher.ChunkSize];
    private readonly long _bodyLength;
    private readonly long _chunkCount;
    private long _bodyRead;
    private uint _index;
    private int _plainOffset;
    private int _plainLength;
    private bool _finalDone;
    private long _position;

    internal PackageDecryptStream(FileStream file, byte[] key, byte[] ad)
    {
        _file = file;
        _ad = ad;
        var header = new byte[PackageCipher.HeaderSize];
        file.ReadExactly(header);
        if (!header.AsSpan(0, 8).SequenceEqual("PMGPKG1\n"u8)) throw new CryptographicException("Not a package file.");
        if (BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(8)) != PackageCipher.ChunkSize) throw new CryptographicException("Unsupported chunk size.");
        header.AsSpan(12, 8).CopyTo(_prefix);
        _bodyLength = file.Length - PackageCipher.HeaderSize;
        const int sealedChunk = PackageCipher.ChunkSize + PackageCipher.TagSize;
        _chunkCount = (_bodyLength + sealedChunk - 1) / sealedChunk;
        var last = _bodyLength - (_chunkCount - 1) * sealedChunk;
        if (_chunkCount < 1 || last < PackageCipher.TagSize) throw new CryptographicException("Package file is truncated.");
        Length = _bodyLength - _chunkCount * PackageCipher.TagSize;
        _aes = new AesGcm(key, PackageCipher.TagSize);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;

    /// <summary>Plaintext length, known from the file size before anything is decrypted.</summary>
    public override long Length { get; }

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_plainOffset == _plainLength)
        {
            if (_finalDone) return 0;
            var size = NextChunkSize();
            _file.ReadExactly(_sealed, 0, size);
            Decrypt(size);
            if (_plainLength == 0) return 0;
        }
        return Take(buffer);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_plainOffset == _plainLength)
        {
            if (_finalDone) return 0;
            var size = NextChunkSize();
            await _file.ReadExactlyAsync(_sealed.AsMemory(0, size), cancellationToken);
            Decrypt(size);
            if (_plainLength == 0) return 0;
        }
        return Take(buffer.Span);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private int NextChunkSize() => (int)Math.Min(PackageCipher.ChunkSize + PackageCipher.TagSize, _bodyLength - _bodyRead);

    private void Decrypt(int size)
    {
        _bodyRead += size;
        var final = _index == _chunkCount - 1;
        Span<byte> nonce = stackalloc byte[PackageCipher.NonceSize];
        PackageCipher.Nonce(_prefix, _index, nonce);
        var plainLength = size - PackageCipher.TagSize;
        _aes.Decrypt(nonce, _sealed.AsSpan(0, plainLength), _sealed.AsSpan(plainLength, PackageCipher.TagSize), _plain.AsSpan(0, plainLength), PackageCipher.ChunkAad(_ad, _index, final));
        _plainOffset = 0;
        _plainLength = plainLength;
        _finalDone = final;
        if (!final) _index++;
    }

    private int Take(Span<byte> buffer)
    {
        var n = Math.Min(buffer.Length, _plainLength - _plainOffset);
        _plain.AsSpan(_plainOffset, n).CopyTo(buffer);
        _plainOffset += n;
        _position += n;
        return n;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _file.Dispose();
            _aes.Dispose();
            CryptographicOperations.ZeroMemory(_plain);
        }
        base.Dispose(disposing);
    }
}
