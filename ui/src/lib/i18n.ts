import { addMessages, getLocaleFromNavigator, init, locale } from "svelte-i18n";
import en from "../locales/en.json";
import es from "../locales/es.json";

export const LANGUAGES = [
  { code: "en", name: "English" },
  { code: "es", name: "Español" },
] as const;
export type Language = (typeof LANGUAGES)[number]["code"];

const STORAGE_KEY = "issuance-desk.language";

addMessages("en", en);
addMessages("es", es);

function supported(tag: string | null | undefined): Language | null {
  const base = tag?.toLowerCase().split(/[-_]/)[0];
  return LANGUAGES.find((l) => l.code === base)?.code ?? null;
}

/** Starts i18n in the teller's chosen language, else the OS language, else English. */
export function startI18n(): Language {
  const chosen = supported(safeStorage()?.getItem(STORAGE_KEY)) ?? supported(getLocaleFromNavigator()) ?? "en";
  init({ fallbackLocale: "en", initialLocale: chosen });
  document.documentElement.lang = chosen;
  return chosen;
}

/** The configuration's language applies unless the teller chose one on this PC. */
export function applyConfiguredLanguage(configured: string | null | undefined): Language | null {
  const language = supported(configured);
  if (!language || safeStorage()?.getItem(STORAGE_KEY)) return null;
  locale.set(language);
  document.documentElement.lang = language;
  return language;
}

export function setLanguage(language: Language): void {
  locale.set(language);
  document.documentElement.lang = language;
  safeStorage()?.setItem(STORAGE_KEY, language);
}

function safeStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}
