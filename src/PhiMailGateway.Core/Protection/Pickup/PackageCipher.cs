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
        await using var sealing = await OpenWriteAsync(output, key, associatedData, hashPlaintext: true, cancellationToken);
        await plaintext.CopyToAsync(sealing, 81920, cancellationToken);
        await sealing.CompleteAsync(cancellationToken);
        return (sealing.Length, sealing.Sha256!);
    }

    /// <summary>
    /// Writes the file header to <paramref name="output"/> and returns a stream that encrypts what is
    /// written to it; <see cref="PackageEncryptStream.CompleteAsync"/> seals the final chunk.
    /// </summary>
    public static async Task<PackageEncryptStream> OpenWriteAsync(Stream output, byte[] key, string associatedData, bool hashPlaintext, CancellationToken cancellationToken)
    {
        var prefix = RandomNumberGenerator.GetBytes(PrefixSize);
        var header = new byte[HeaderSize];
        Magic.CopyTo(header, 0);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(Magic.Length), ChunkSize);
        prefix.CopyTo(header, Magic.Length + 4);
        await output.WriteAsync(header, cancellationToken);
        return new PackageEncryptStream(output, key, Encoding.UTF8.GetBytes(associatedData), prefix, hashPlaintext);
    }

    internal static void Seal(AesGcm aes, byte[] prefix, uint index, byte[] ad, bool final, ReadOnlySpan<byte> plain, byte[] output)
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
/// Write side of a package file: plaintext written here is sealed chunk by chunk into the file
/// (layout in <see cref="PackageCipher"/>). A full chunk is held back until more plaintext arrives
/// or <see cref="CompleteAsync"/> marks it final, so the final flag is always right without knowing
/// the length in advance. MimeKit writes the decoded attachment straight into it: no pipe, no second
/// thread, at most one chunk of plaintext in memory. Disposed without completing, the file lacks its
/// final chunk and fails authentication when read.
/// </summary>
public sealed class PackageEncryptStream : WriteOnlyStream
{
    private readonly Stream _output;
    private readonly AesGcm _aes;
    private readonly byte[] _ad;
    private readonly byte[] _prefix;
    private readonly IncrementalHash? _hash;
    private readonly byte[] _chunk = new byte[PackageCipher.ChunkSize];
    private readonly byte[] _sealed = new byte[PackageCipher.ChunkSize + PackageCipher.TagSize];
    private int _filled;
    private uint _index;
    private bool _completed;
    private bool _disposed;

    internal PackageEncryptStream(Stream output, byte[] key, byte[] ad, byte[] prefix, bool hashPlaintext)
    {
        _output = output;
        _aes = new AesGcm(key, PackageCipher.TagSize);
        _ad = ad;
        _prefix = prefix;
        _hash = hashPlaintext ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
    }

    /// <summary>Plaintext bytes written so far.</summary>
    public override long Length => _length;
    private long _length;

    /// <summary>SHA-256 of the plaintext (lower-case hex) once completed, when hashing was asked for.</summary>
    public string? Sha256 { get; private set; }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            if (_filled == PackageCipher.ChunkSize) _output.Write(_sealed, 0, SealChunk(final: false));
            buffer = Take(buffer);
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (!buffer.IsEmpty)
        {
            if (_filled == PackageCipher.ChunkSize) await _output.WriteAsync(_sealed.AsMemory(0, SealChunk(final: false)), cancellationToken);
            buffer = buffer[(buffer.Length - Take(buffer.Span).Length)..];
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Seals the held chunk as the final one (empty when the length is a multiple of the chunk size).</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed) throw new InvalidOperationException("The package file is already complete.");
        await _output.WriteAsync(_sealed.AsMemory(0, SealChunk(final: true)), cancellationToken);
        _completed = true;
        if (_hash is not null) Sha256 = Convert.ToHexStringLower(_hash.GetHashAndReset());
    }

    /// <summary>Copies what fits of <paramref name="buffer"/> into the held chunk; returns the rest.</summary>
    private ReadOnlySpan<byte> Take(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed) throw new InvalidOperationException("The package file is already complete.");
        var take = Math.Min(buffer.Length, PackageCipher.ChunkSize - _filled);
        buffer[..take].CopyTo(_chunk.AsSpan(_filled));
        _hash?.AppendData(buffer[..take]);
        _filled += take;
        _length += take;
        return buffer[take..];
    }

    private int SealChunk(bool final)
    {
        PackageCipher.Seal(_aes, _prefix, _index, _ad, final, _chunk.AsSpan(0, _filled), _sealed);
        var size = _filled + PackageCipher.TagSize;
        _filled = 0;
        _index = checked(_index + 1);
        return size;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            CryptographicOperations.ZeroMemory(_chunk);
            _aes.Dispose();
            _hash?.Dispose();
        }
        base.Dispose(disposing);
    }

    public override bool CanWrite => !_disposed && !_completed;
    public override long Position { get => _length; set => throw new NotSupportedException(); }
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
