//! The window paints without GPU compositing on Linux.
//!
//! The desk is a form: nothing in it needs the GPU. With WebKitGTK's accelerated compositing
//! each web process sets up OpenGL (on a PC without a usable GPU driver, Mesa's software
//! rasterizer, its buffers and JIT code) and costs 30–50 MiB more than the same page painted
//! directly (README, *Start-up and memory*); it is also the mode in which some GPU drivers show a
//! blank WebKitGTK window. Painting on the CPU is what every branch PC can do the same way.

use tauri::{Runtime, WebviewWindow};

#[cfg(target_os = "linux")]
pub fn without_gpu_compositing<R: Runtime>(window: &WebviewWindow<R>) {
    let applied = window.with_webview(|webview| {
        use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
        if let Some(settings) = WebViewExt::settings(&webview.inner()) {
            settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
        }
    });
    if let Err(error) = applied {
        tracing::warn!(%error, "the window keeps WebKit's default compositing");
    }
}

#[cfg(not(target_os = "linux"))]
pub fn without_gpu_compositing<R: Runtime>(_window: &WebviewWindow<R>) {}
