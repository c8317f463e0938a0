using System.Buffers;

namespace PhiMailGateway.Ingress;

/// <summary>
/// The message bytes of one DATA, in 64 KiB arrays rented from the shared pool and handed back on
/// <see cref="Release"/>, so a closed session holds nothing and a steady load reuses the same arrays
/// instead of growing the heap. Exposed to the acceptor as one <see cref="ReadOnlySequence{T}"/>
/// without copying.
/// </summary>
internal sealed class PooledMessageBuffer
{
    private const int ChunkSize = 64 * 1024;

    private readonly List<byte[]> _chunks = [];
    private int _used = ChunkSize; // bytes used in the last chunk; "full" when there is none yet

    public long Length { get; private set; }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            if (_used == ChunkSize)
            {
                _chunks.Add(ArrayPool<byte>.Shared.Rent(ChunkSize));
                _used = 0;
            }
            var take = Math.Min(bytes.Length, ChunkSize - _used);
            bytes[..take].CopyTo(_chunks[^1].AsSpan(_used));
            _used += take;
            Length += take;
            bytes = bytes[take..];
        }
    }

    public ReadOnlySequence<byte> AsSequence()
    {
        if (_chunks.Count == 0) return ReadOnlySequence<byte>.Empty;
        if (_chunks.Count == 1) return new ReadOnlySequence<byte>(_chunks[0], 0, _used);
        var first = new Segment(_chunks[0].AsMemory(0, ChunkSize), 0);
        var last = first;
        for (var i = 1; i < _chunks.Count; i++)
        {
            var length = i == _chunks.Count - 1 ? _used : ChunkSize;
            last = last.Append(_chunks[i].AsMemory(0, length));
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>Returns every array to the pool; the buffer is empty and reusable afterwards.</summary>
    public void Release()
    {
        foreach (var chunk in _chunks) ArrayPool<byte>.Shared.Return(chunk);
        _chunks.Clear();
        _used = ChunkSize;
        Length = 0;
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
