// Same signal as Issuance Desk's UiReady: the page is interactive.
window.__TAURI_INTERNALS__.invoke("ready");
