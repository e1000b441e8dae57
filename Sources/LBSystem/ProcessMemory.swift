import CShims

/// The process's heap as glibc keeps it.
public enum ProcessMemory {
    /// Hands the heaps' free memory back to the kernel (`malloc_trim(0)`, every arena). After a large structure
    /// is freed, glibc keeps its pages for reuse; in a thread's own arena (each thread that allocates may get
    /// one) they stay resident until a trim.
    public static func returnFreeMemory() {
        _ = cshims_malloc_trim()
    }
}
