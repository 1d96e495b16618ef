package message

// voiceProfiles maps a locale (language, language-Script, language-REGION)
// to the 8x8 `say` voiceProfile. 8x8's names are the Azure TTS short names
// (legacy "ar-EG-Hoda", neural "ar-EG-SalmaNeural"). Sources:
//
//	[okta]  8x8 "Okta - Bring Your Own Telephony (BYOT) via Voice" guide
//	        (developer.8x8.com/connect/docs/okta-bring-your-own-telephony-byot-via-voice-otp):
//	        VOICE_PROFILE=en-US-Jenny; also DESIGN.md.
//	[spec]  8x8 Voice API OpenAPI (shared/contracts/8x8/voice_v1_api.json),
//	        say.params.voiceProfile example "en-GB-Emma".
//	[guide] 8x8 Voice Messaging guide (developer.8x8.com/connect/reference/voice-messaging-guide):
//	        "en-IE-EmilyNeural".
//	[list]  8x8 "Voice Languages and Profiles"
//	        (developer.8x8.com/connect/reference-link/vm-voice-languages-and-profiles).
//	[scheme] not in the part of 8x8's list we could read: the Azure neural
//	        voice for the locale, in the same naming scheme as [list]. A
//	        wrong name is 8x8 statusCode -1002 on every call: Voices checks
//	        the table against the account's own list
//	        (GET /api/v1/subaccounts/{id}/speech-profiles) and substitutes.
var voiceProfiles = map[string]string{
	"en":    "en-US-Jenny",         // [okta]
	"en-US": "en-US-Jenny",         // [okta]
	"en-GB": "en-GB-Emma",          // [spec]
	"en-IE": "en-IE-EmilyNeural",   // [guide]
	"en-AU": "en-AU-NatashaNeural", // [scheme]
	"en-IN": "en-IN-NeerjaNeural",  // [scheme]
	"en-CA": "en-CA-ClaraNeural",   // [scheme]

	"es":     "es-ES-ElviraNeural", // [scheme]
	"es-ES":  "es-ES-ElviraNeural", // [scheme]
	"es-US":  "es-US-PalomaNeural", // [scheme]
	"es-MX":  "es-MX-DaliaNeural",  // [scheme]
	"es-419": "es-MX-DaliaNeural",  // Latin American Spanish: the Mexican voice
	"es-AR":  "es-MX-DaliaNeural",
	"es-BO":  "es-MX-DaliaNeural",
	"es-CL":  "es-MX-DaliaNeural",
	"es-CO":  "es-MX-DaliaNeural",
	"es-CR":  "es-MX-DaliaNeural",
	"es-CU":  "es-MX-DaliaNeural",
	"es-DO":  "es-MX-DaliaNeural",
	"es-EC":  "es-MX-DaliaNeural",
	"es-GT":  "es-MX-DaliaNeural",
	"es-HN":  "es-MX-DaliaNeural",
	"es-NI":  "es-MX-DaliaNeural",
	"es-PA":  "es-MX-DaliaNeural",
	"es-PE":  "es-MX-DaliaNeural",
	"es-PR":  "es-MX-DaliaNeural",
	"es-PY":  "es-MX-DaliaNeural",
	"es-SV":  "es-MX-DaliaNeural",
	"es-UY":  "es-MX-DaliaNeural",
	"es-VE":  "es-MX-DaliaNeural",

	"fr":    "fr-FR-DeniseNeural", // [scheme]
	"fr-FR": "fr-FR-DeniseNeural", // [scheme]
	"fr-CA": "fr-CA-SylvieNeural", // [scheme]

	"de":    "de-DE-KatjaNeural", // [scheme]
	"de-DE": "de-DE-KatjaNeural", // [scheme]

	"it":    "it-IT-ElsaNeural", // [scheme]
	"it-IT": "it-IT-ElsaNeural", // [scheme]

	"pt":    "pt-BR-FranciscaNeural", // [scheme]; Brazil is most Portuguese speakers
	"pt-BR": "pt-BR-FranciscaNeural", // [scheme]
	"pt-PT": "pt-PT-RaquelNeural",    // [scheme]

	"nl":    "nl-NL-ColetteNeural", // [scheme]
	"nl-NL": "nl-NL-ColetteNeural", // [scheme]

	"ja":    "ja-JP-NanamiNeural", // [scheme]
	"ja-JP": "ja-JP-NanamiNeural", // [scheme]

	"zh":      "zh-CN-XiaoxiaoNeural",  // [list]
	"zh-CN":   "zh-CN-XiaoxiaoNeural",  // [list]
	"zh-Hans": "zh-CN-XiaoxiaoNeural",  // [list]
	"zh-TW":   "zh-TW-HsiaoChenNeural", // [list]
	"zh-Hant": "zh-TW-HsiaoChenNeural", // [list]
	"zh-HK":   "zh-HK-HiuMaanNeural",   // [scheme]; Cantonese

	"ko":    "ko-KR-SunHiNeural", // [scheme]
	"ko-KR": "ko-KR-SunHiNeural", // [scheme]

	"ar":    "ar-SA-ZariyahNeural", // [list]; Modern Standard Arabic
	"ar-SA": "ar-SA-ZariyahNeural", // [list]
	"ar-EG": "ar-EG-SalmaNeural",   // [list]

	"hi":    "hi-IN-SwaraNeural", // [scheme]
	"hi-IN": "hi-IN-SwaraNeural", // [scheme]
}

// VoiceProfile is the built-in table's 8x8 voice profile for the locale:
// the regional voice where one is listed, else the language's default,
// else English's. It does not know which profiles the account has; with
// the account's list, use Voices.For.
func (l Lang) VoiceProfile() string {
	if l.profile == "" {
		return voiceProfiles[english.code]
	}
	return l.profile
}
