import Foundation
import Kernels

/// Makes OpenBLAS run the widest kernels this CPU has, before any work starts.
///
/// OpenBLAS picks its kernels as the library loads, before `main`, and an OpenBLAS older than the
/// CPU falls back to generic SSE3 ones. The only way to change that choice is
/// `OPENBLAS_CORETYPE` in the environment of a process that has not loaded the library yet, so
/// the program runs itself again with it set: one exec, a few milliseconds, only on such CPUs (and
/// when `IMAGINE_DISABLE_AVX512` asks for the AVX2 kernels on an AVX-512 one).
enum BLASKernelSelection {
    /// Set for the re-executed process: the family OpenBLAS had picked by itself.
    static let detectedVariable = "IMAGINE_OPENBLAS_DETECTED"

    /// Returns when OpenBLAS's own choice stands (or when exec fails, with a warning); otherwise
    /// the process image is replaced and this never returns.
    static func reexecuteForBestKernels() {
        let reported = BLASKernels.coreName
        guard let preferred = BLASKernels.preferredCoreType(
            reported: reported, features: .current, environment: ProcessInfo.processInfo.environment)
        else { return }
        setenv("OPENBLAS_CORETYPE", preferred, 1)
        setenv(detectedVariable, reported, 1)
        // /proc/self/exe is the running binary whatever argv[0] says (a relative path, a symlink).
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        let reason = String(cString: strerror(errno))
        unsetenv("OPENBLAS_CORETYPE")
        unsetenv(detectedVariable)
        printError("warning: OpenBLAS runs its \(reported) kernels on a CPU that has \(CPUFeatures.current.summary); "
                   + "running again with OPENBLAS_CORETYPE=\(preferred) failed (\(reason)); set it yourself for full speed")
    }

    /// "OpenBLAS 0.3.21, Cooperlake kernels", and who chose them when it was not OpenBLAS.
    static var description: String {
        var text = "\(BLASKernels.library), \(BLASKernels.coreName) kernels"
        let environment = ProcessInfo.processInfo.environment
        if let detected = environment[detectedVariable] {
            let requested = environment["OPENBLAS_CORETYPE"] ?? ""
            text += requested.caseInsensitiveCompare(BLASKernels.coreName) == .orderedSame
                ? " (chosen for this CPU; OpenBLAS detected \(detected))"
                : " (OpenBLAS detected \(detected) and did not take OPENBLAS_CORETYPE=\(requested))"
        } else if let forced = environment["OPENBLAS_CORETYPE"], !forced.isEmpty {
            text += " (OPENBLAS_CORETYPE=\(forced))"
        }
        return text
    }
}
