import { mount } from "svelte";
import App from "./App.svelte";
import { tauriBackend } from "./ipc/tauri";
import "./app.css";

const target = document.getElementById("app");
if (target) {
  mount(App, { target, props: { backend: tauriBackend } });
}
